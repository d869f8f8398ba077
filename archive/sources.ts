// What an upload sends: a private copy of the object's bytes that cannot change under it (a log
// copied when its upload starts, a day written from the store), with its SHA-256 and size. The
// copies live in <root>/archive/tmp (0700) only while their upload runs.
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ArchiveObject } from '../common/archive.js';
import { HypervisorError } from '../common/errors.js';
import { PRIVATE_DIR_MODE } from '../common/file-modes.js';
import type { ArchiveRecords } from '../store/archive-records.js';
import { writeDay } from './daily.js';
import type { PreparedFile } from './s3-target.js';

/** The object's local source is gone (a log removed before it could be uploaded): nothing to retry. */
export class SourceMissingError extends HypervisorError {
  constructor(message: string) {
    super('archive_source_missing', message);
  }
}

export interface Prepared extends PreparedFile {
  /** Removes the copy; safe to call twice. */
  discard(): Promise<void>;
}

export class Sources {
  readonly #dir: string;
  readonly #records: ArchiveRecords;

  constructor(dir: string, records: ArchiveRecords) {
    this.#dir = dir;
    this.#records = records;
  }

  /** Empties the folder of copies a stopped daemon left, and makes it if needed. */
  async reset(): Promise<void> {
    await rm(this.#dir, { recursive: true, force: true });
    await mkdir(this.#dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  }

  async prepare(object: ArchiveObject): Promise<Prepared> {
    const copy = path.join(this.#dir, `${randomUUID()}${path.extname(object.name)}`);
    const discard = (): Promise<void> => rm(copy, { force: true });
    try {
      await this.#write(object, copy);
      const { sha256, size } = await hashFile(copy);
      return { path: copy, sha256, size, contentType: contentType(object), discard };
    } catch (err) {
      await discard();
      throw err;
    }
  }

  async #write(object: ArchiveObject, copy: string): Promise<void> {
    switch (object.kind) {
      case 'log':
        await copyFile(object.source, copy).catch((err: NodeJS.ErrnoException) => {
          if (err.code === 'ENOENT') throw new SourceMissingError(`${object.source} is gone`);
          throw err;
        });
        return;
      case 'deliveries':
      case 'ledger':
        await writeDay(this.#records, object.kind, object.source, copy);
        return;
      default: {
        const unknown: never = object.kind;
        throw new HypervisorError('archive_kind', `unknown archive kind ${String(unknown)}`);
      }
    }
  }
}

export async function hashFile(file: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  await pipeline(createReadStream(file), async (chunks: AsyncIterable<Buffer>) => {
    for await (const chunk of chunks) {
      hash.update(chunk);
      size += chunk.length;
    }
  });
  return { sha256: hash.digest('hex'), size };
}

function contentType(object: ArchiveObject): string {
  return object.kind === 'log' ? 'text/plain; charset=utf-8' : 'application/x-ndjson';
}
