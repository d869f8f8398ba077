// The MongoDB adapter's desired-state revisions. Kept apart from the other collections so each file
// reads at once; MongoStore delegates to it. The unique index on the number decides between hosts
// that append at once.
import type { Collection, Db } from 'mongodb';
import type { Revision } from '../common/types.js';
import { isDuplicateKey, type MongoWriter } from './mongodb-writer.js';
import * as rec from './records.js';
import type { EventsFor, NewRevision } from './store.js';

/**
 * How often an append without `expected` takes latest+1 again after another writer took the number.
 * Each lost race means some other append won, so this bounds the number of writers racing at once.
 */
const APPEND_ATTEMPTS = 10;

export class MongoRevisionCollection {
  readonly #db: Db;
  readonly #w: MongoWriter;

  constructor(db: Db, writer: MongoWriter) {
    this.#db = db;
    this.#w = writer;
  }

  get #desired(): Collection<Revision> {
    return this.#db.collection('desired');
  }

  async createIndexes(): Promise<void> {
    await this.#desired.createIndex({ number: 1 }, { unique: true });
  }

  async latestRevision(): Promise<Revision | null> {
    const doc = await this.#desired.findOne({}, { sort: { number: -1 } });
    return doc && rec.copyRevision(doc);
  }

  async appendRevision(input: NewRevision, events?: EventsFor<Revision>): Promise<Revision> {
    rec.checkExpected(input.expected);
    for (let attempt = 1; ; attempt++) {
      let number = 0;
      try {
        return await this.#w.atomically(async (tx) => {
          const top = await this.#desired.findOne({}, { sort: { number: -1 }, projection: { number: 1 }, session: tx });
          const latest = top?.number ?? 0;
          if (input.expected !== undefined && input.expected !== latest)
            throw rec.staleRevision(input.expected, latest);
          number = latest + 1;
          const revision = rec.copyRevision({ ...input, number, time: rec.nowIso() });
          await this.#desired.insertOne({ ...revision }, { session: tx });
          await this.#w.insertEvents(events?.(revision) ?? [], tx);
          return revision;
        });
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        // Another writer took latest+1. With If-Match that is a lost update; without, take the next one.
        if (input.expected !== undefined || attempt >= APPEND_ATTEMPTS) throw rec.revisionTaken(number);
      }
    }
  }

  async getRevision(number: number): Promise<Revision | null> {
    const doc = await this.#desired.findOne({ number });
    return doc && rec.copyRevision(doc);
  }

  async listRevisions(limit: number): Promise<Revision[]> {
    if (rec.checkLimit(limit) === 0) return [];
    const docs = await this.#desired.find({}).sort({ number: -1 }).limit(limit).toArray();
    return docs.map(rec.copyRevision);
  }
}
