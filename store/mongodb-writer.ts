// How the MongoDB adapter writes a change together with its events: in one transaction where the
// server has them (a replica set, even of one member, or a sharded cluster), else one after the
// other. A standalone server cannot do better; `hyperctl doctor` says so. Ids come from atomic
// counters, so several hosts sharing the database never take the same one.
import { MongoServerError, type ClientSession, type Collection, type Db, type MongoClient } from 'mongodb';
import type { EventRecord, NewEvent } from '../common/types.js';
import * as rec from './records.js';

const DUPLICATE_KEY = 11000;

export function isDuplicateKey(err: unknown): boolean {
  return err instanceof MongoServerError && err.code === DUPLICATE_KEY;
}

interface CounterDoc {
  _id: string;
  value: number;
}

/** The session of the transaction in progress, or undefined on a server without transactions. */
export type Tx = ClientSession | undefined;

export class MongoWriter {
  readonly #client: MongoClient;
  readonly #db: Db;
  #transactions = false;

  constructor(client: MongoClient, db: Db) {
    this.#client = client;
    this.#db = db;
  }

  /** Asks the server whether it runs transactions: replica set members name their set, mongos says isdbgrid. */
  async detect(): Promise<void> {
    const hello = await this.#db.admin().command({ hello: 1 });
    this.#transactions = typeof hello.setName === 'string' || hello.msg === 'isdbgrid';
  }

  get transactions(): boolean {
    return this.#transactions;
  }

  /**
   * Runs `work` in one transaction when the server has them. The driver may run it again after a
   * transient error (a write conflict with another host), so `work` reads what it needs itself.
   */
  async atomically<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    if (!this.#transactions) return work(undefined);
    return this.#client.withSession((session) => session.withTransaction(() => work(session)));
  }

  /** The next number of a sequence, atomic across every host sharing the database. */
  async nextId(name: string, tx: Tx): Promise<number> {
    const counters: Collection<CounterDoc> = this.#db.collection('counters');
    for (;;) {
      try {
        const doc = await counters.findOneAndUpdate(
          { _id: name },
          { $inc: { value: 1 } },
          { upsert: true, returnDocument: 'after', session: tx },
        );
        return doc!.value;
      } catch (err) {
        // Two first-ever upserts of one counter can both try the insert; the loser simply increments.
        // Inside a transaction the error has aborted it: the driver's retry of the whole work handles it.
        if (!isDuplicateKey(err) || tx) throw err;
      }
    }
  }

  /** One after the other: a transaction must not run operations in parallel. */
  async insertEvents(events: readonly NewEvent[], tx: Tx): Promise<EventRecord[]> {
    const collection: Collection<EventRecord> = this.#db.collection('events');
    const written: EventRecord[] = [];
    for (const event of events) {
      const record = rec.newEventRecord(await this.nextId('events', tx), event, rec.nowIso());
      await collection.insertOne({ ...record }, { session: tx });
      written.push(record);
    }
    return written;
  }
}
