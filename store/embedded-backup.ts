// Copies of the embedded store's file. SQLite's online backup reads a consistent snapshot while
// the daemon goes on writing (WAL lets a reader in), so a copy is never torn; every copy is made
// private (0600) from its first byte and passes quick_check before it takes its final name.
import { link, rm } from 'node:fs/promises';
import Database from 'better-sqlite3';
import { HypervisorError } from '../common/errors.js';
import { ensureFile, PRIVATE_FILE_MODE } from '../common/file-modes.js';
import { checkStoreFile } from './embedded-health.js';
import { SCHEMA_VERSION } from './embedded-schema.js';

/** The copy failed its check, or the source is not a store this hypervisor can read: nothing was written. */
export class StoreCopyError extends HypervisorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('store_copy', message, options);
  }
}

export interface StoreCopy {
  file: string;
  /** What quick_check said of the copy. */
  detail: string;
  pages: number;
}

/**
 * Copies `source` into `target`, which must not exist (a copy never overwrites: an existing file
 * is kept and the call fails). The copy is made beside `target` and linked into place.
 */
export async function copyStoreFile(source: string, target: string): Promise<StoreCopy> {
  const temp = `${target}.${process.pid}.${Date.now()}.tmp`;
  try {
    ensureFile(temp, PRIVATE_FILE_MODE);
    const db = new Database(source, { readonly: true, fileMustExist: true });
    let pages: number;
    try {
      pages = (await db.backup(temp)).totalPages;
    } finally {
      db.close();
    }
    const check = checkStoreFile(temp);
    if (!check.ok)
      throw new StoreCopyError(`the copy of ${source} fails its check (${check.detail}), so ${source} is damaged too`);
    if (check.version > SCHEMA_VERSION)
      throw new StoreCopyError(
        `${source} has schema version ${check.version}, newer than this hypervisor's ` +
          `${SCHEMA_VERSION}: use the hypervisor that wrote it`,
      );
    await link(temp, target);
    return { file: target, detail: check.detail, pages };
  } catch (err) {
    if (err instanceof HypervisorError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'EEXIST')
      throw new StoreCopyError(`${target} already exists; a copy never overwrites a file: give a new path`);
    throw new StoreCopyError(`cannot copy ${source}: ${(err as Error).message}`, { cause: err });
  } finally {
    await rm(temp, { force: true });
    await rm(`${temp}-journal`, { force: true });
  }
}
