// `hyperctl backup` and `hyperctl restore` on the host: the embedded store's file copied out while
// the daemon runs, and copied back in while it does not. A restore checks the backup before it
// touches anything and keeps the file it replaces beside it.
import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { HypervisorError } from '../common/errors.js';
import { ensureDir, PRIVATE_DIR_MODE } from '../common/file-modes.js';
import type { StoreConfig } from '../config/config.js';
import { copyStoreFile, type StoreCopy } from '../store/embedded-backup.js';
import { checkStoreFile } from '../store/embedded-health.js';
import { processesHolding, type Holder } from './open-files.js';

/** The verb does not apply here: a MongoDB store, a missing backup, a target that exists. */
export class BackupUsageError extends HypervisorError {
  constructor(message: string) {
    super('usage', message);
  }
}

/** The store is open in another process (the daemon): a restore under it would be lost or torn. */
export class StoreInUseError extends HypervisorError {
  readonly holders: Holder[];
  constructor(file: string, holders: Holder[]) {
    const who = holders.map((h) => `pid ${h.pid} (${h.command})`).join(', ');
    super(
      'store_in_use',
      `the store ${file} is open in ${who}: stop the daemon first (systemctl stop, or hyperctl ` +
        'restart after the restore), then run hyperctl restore again',
    );
    this.holders = holders;
  }
}

export interface RestoreResult extends StoreCopy {
  from: string;
  /** Where the replaced file was moved, or null when there was none. */
  keptAside: string | null;
}

function embeddedPath(store: StoreConfig, verb: string): string {
  if (store.kind !== 'embedded')
    throw new BackupUsageError(
      `hyperctl ${verb} copies the embedded store's file; this config uses MongoDB: use mongodump / mongorestore`,
    );
  return store.path;
}

/** Copies the live store into `target` (a new file); safe while the daemon runs. */
export async function backupStore(store: StoreConfig, target: string): Promise<StoreCopy> {
  const file = embeddedPath(store, 'backup');
  const to = path.resolve(target);
  if (!existsSync(file)) throw new BackupUsageError(`the store ${file} does not exist yet: nothing to back up`);
  if (existsSync(to))
    throw new BackupUsageError(`${to} already exists; a backup never overwrites a file: give a new path`);
  // A folder made here holds copies of password hashes: the user's alone, like the store's own.
  ensureDir(path.dirname(to), PRIVATE_DIR_MODE);
  return copyStoreFile(file, to);
}

/** Replaces the store with the backup at `from`; refuses while any process holds the store open. */
export async function restoreStore(store: StoreConfig, from: string, now = new Date()): Promise<RestoreResult> {
  const file = embeddedPath(store, 'restore');
  const source = path.resolve(from);
  if (!existsSync(source)) throw new BackupUsageError(`the backup ${source} does not exist`);
  const check = checkStoreFile(source);
  if (!check.ok)
    throw new BackupUsageError(`the backup ${source} is not a sound store (${check.detail}); nothing was changed`);
  const family = [file, `${file}-wal`, `${file}-shm`];
  const holders = await processesHolding(family);
  if (holders.length > 0) throw new StoreInUseError(file, holders);
  const incoming = `${file}.restoring`;
  await rm(incoming, { force: true });
  const copy = await copyStoreFile(source, incoming);
  const keptAside = existsSync(file) ? await moveAside(file, now) : null;
  await rename(incoming, file);
  return { ...copy, file, from: source, keptAside };
}

/**
 * The old file goes aside with its -wal (which may hold its last commits); the -shm is only an index
 * SQLite rebuilds, and must not be left for the restored file to pick up.
 */
async function moveAside(file: string, now: Date): Promise<string> {
  const aside = `${file}.before-restore-${now.toISOString().replace(/[:.]/g, '-')}`;
  await rename(file, aside);
  if (existsSync(`${file}-wal`)) await rename(`${file}-wal`, `${aside}-wal`);
  await rm(`${file}-shm`, { force: true });
  return aside;
}
