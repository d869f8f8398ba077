// The MongoDB adapter's event trail. Kept apart from the other collections so each file reads at
// once; MongoStore delegates to it. Ids come from an atomic counter, one write at a time.
import type { Collection, Db } from 'mongodb';
import type { EventRecord, NewEvent } from '../common/types.js';
import type { MongoWriter } from './mongodb-writer.js';
import * as rec from './records.js';

export class MongoEventCollection {
  readonly #db: Db;
  readonly #w: MongoWriter;
  /** The last event write, settled or not: the next one starts after it (see appendEvent). */
  #eventWrites: Promise<unknown> = Promise.resolve();

  constructor(db: Db, writer: MongoWriter) {
    this.#db = db;
    this.#w = writer;
  }

  get #events(): Collection<EventRecord> {
    return this.#db.collection('events');
  }

  async createIndexes(): Promise<void> {
    await this.#events.createIndex({ id: 1 }, { unique: true });
  }

  appendEvent(event: NewEvent): Promise<EventRecord> {
    // One event write at a time: overlapping calls would draw ids from the counter in whatever
    // order the server answers, and the ids must follow the order of the calls (the Store contract).
    const write = this.#eventWrites.then(async () => (await this.#w.insertEvents([event], undefined))[0]!);
    this.#eventWrites = write.catch(() => undefined);
    return write;
  }

  async listEventsAfter(afterId: number, limit: number): Promise<EventRecord[]> {
    if (rec.checkLimit(limit) === 0) return [];
    const docs = await this.#events
      .find({ id: { $gt: rec.checkAfterId(afterId) } })
      .sort({ id: 1 })
      .limit(limit)
      .toArray();
    return docs.map(rec.copyEvent);
  }

  async listRecentEvents(limit: number): Promise<EventRecord[]> {
    if (rec.checkLimit(limit) === 0) return [];
    const docs = await this.#events.find({}).sort({ id: -1 }).limit(limit).toArray();
    return docs.reverse().map(rec.copyEvent);
  }
}
