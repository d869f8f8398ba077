// The embedded store's release records (table releases). Kept apart from the other tables so each
// file reads at once; EmbeddedStore delegates to it. Their seq column orders them newest first.
import { DuplicateKeyError, NotFoundError } from '../common/errors.js';
import type { ReleaseRecord } from '../common/types.js';
import type { SqliteConnection } from './embedded-connection.js';
import * as row from './embedded-rows.js';
import * as rec from './records.js';
import type { ReleasePatch } from './store.js';

export class EmbeddedReleaseTable {
  readonly #c: SqliteConnection;

  constructor(connection: SqliteConnection) {
    this.#c = connection;
  }

  getRelease(tag: string): ReleaseRecord | null {
    const found = this.#c.read(() => this.#c.get<{ doc: string }>('SELECT doc FROM releases WHERE tag = ?', tag));
    return found && rec.copyRelease(JSON.parse(found.doc) as ReleaseRecord);
  }

  createRelease(record: Omit<ReleaseRecord, 'createdAt' | 'updatedAt'>): ReleaseRecord {
    const release = rec.newRelease(record, rec.nowIso());
    this.#c.write(() => {
      try {
        this.#c.run('INSERT INTO releases (tag, doc) VALUES (?, ?)', release.tag, JSON.stringify(release));
      } catch (err) {
        if (row.isUniqueViolation(err)) throw new DuplicateKeyError('tag', `release ${release.tag} already exists`);
        throw err;
      }
    });
    return release;
  }

  updateRelease(tag: string, patch: ReleasePatch): ReleaseRecord {
    return this.#c.write((): ReleaseRecord => {
      const found = this.#c.get<{ doc: string }>('SELECT doc FROM releases WHERE tag = ?', tag);
      if (!found) throw new NotFoundError(`release ${tag} does not exist`);
      const current = JSON.parse(found.doc) as ReleaseRecord;
      const next = rec.copyRelease({ ...current, ...rec.releasePatchFields(patch), updatedAt: rec.nowIso() });
      this.#c.run('UPDATE releases SET doc = ? WHERE tag = ?', JSON.stringify(next), tag);
      return next;
    });
  }

  listReleases(limit: number): ReleaseRecord[] {
    const sql = 'SELECT doc FROM releases ORDER BY seq DESC LIMIT ?';
    const rows = this.#c.read(() => this.#c.all<{ doc: string }>(sql, rec.checkLimit(limit)));
    return rows.map((found) => rec.copyRelease(JSON.parse(found.doc) as ReleaseRecord));
  }

  deleteRelease(tag: string): void {
    this.#c.write(() => this.#c.run('DELETE FROM releases WHERE tag = ?', tag));
  }
}
