// The MongoDB adapter's release records. Kept apart from the other collections so each file reads at
// once; MongoStore delegates to it. A store-wide sequence orders them newest first.
import type { Collection, Db } from 'mongodb';
import { DuplicateKeyError, NotFoundError } from '../common/errors.js';
import type { ReleaseRecord } from '../common/types.js';
import { isDuplicateKey, type MongoWriter } from './mongodb-writer.js';
import * as rec from './records.js';
import type { ReleasePatch } from './store.js';

type ReleaseDoc = ReleaseRecord & { seq: number };

export class MongoReleaseCollection {
  readonly #db: Db;
  readonly #w: MongoWriter;

  constructor(db: Db, writer: MongoWriter) {
    this.#db = db;
    this.#w = writer;
  }

  get #releases(): Collection<ReleaseDoc> {
    return this.#db.collection('releases');
  }

  async createIndexes(): Promise<void> {
    // One call per collection: two concurrent createIndex calls would race to create the collection.
    await this.#releases.createIndexes([{ key: { tag: 1 }, unique: true }, { key: { seq: 1 } }]);
  }

  async getRelease(tag: string): Promise<ReleaseRecord | null> {
    const doc = await this.#releases.findOne({ tag });
    return doc && rec.copyRelease(doc);
  }

  async createRelease(record: Omit<ReleaseRecord, 'createdAt' | 'updatedAt'>): Promise<ReleaseRecord> {
    const release = rec.newRelease(record, rec.nowIso());
    // A store-wide sequence orders "newest first" even when two hosts create releases in one millisecond.
    const seq = await this.#w.nextId('releases', undefined);
    try {
      await this.#releases.insertOne({ ...release, seq });
    } catch (err) {
      if (isDuplicateKey(err)) throw new DuplicateKeyError('tag', `release ${release.tag} already exists`);
      throw err;
    }
    return release;
  }

  async updateRelease(tag: string, patch: ReleasePatch): Promise<ReleaseRecord> {
    const doc = await this.#releases.findOneAndUpdate(
      { tag },
      { $set: { ...rec.releasePatchFields(patch), updatedAt: rec.nowIso() } },
      { returnDocument: 'after' },
    );
    if (!doc) throw new NotFoundError(`release ${tag} does not exist`);
    return rec.copyRelease(doc);
  }

  async listReleases(limit: number): Promise<ReleaseRecord[]> {
    if (rec.checkLimit(limit) === 0) return [];
    const docs = await this.#releases.find({}).sort({ seq: -1 }).limit(limit).toArray();
    return docs.map(rec.copyRelease);
  }

  async deleteRelease(tag: string): Promise<void> {
    await this.#releases.deleteOne({ tag });
  }
}
