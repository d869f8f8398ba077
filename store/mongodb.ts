// The shared store: MongoDB through the official driver. Several hosts may write at once, so nothing
// here reads-then-writes on trust: revision numbers and unique keys are settled by unique indexes,
// ids by atomic counters, and session expiry by a TTL index (and a filter, since TTL runs once a minute).
import { MongoClient, MongoServerError, type Collection, type Db } from 'mongodb';
import { DuplicateKeyError, NotFoundError, ValidationError } from '../common/errors.js';
import type {
  DeploymentRecord,
  EventRecord,
  GithubDelivery,
  Hyperuser,
  NewEvent,
  ReleaseRecord,
  Revision,
  Session,
} from '../common/types.js';
import * as rec from './records.js';
import type { NewRevision, ReleasePatch, Store } from './store.js';

export interface MongoStoreOptions {
  /** A `mongodb://` or `mongodb+srv://` connection string. */
  uri: string;
  /** @default 'hypervisor' */
  database?: string;
}

/**
 * How often an append without `expected` takes latest+1 again after another writer took the number.
 * Each lost race means some other append won, so this bounds the number of writers racing at once.
 */
const APPEND_ATTEMPTS = 10;
const DUPLICATE_KEY = 11000;

type ReleaseDoc = ReleaseRecord & { seq: number };
/** The session id is the document's `_id`: unique and looked up by it, with no second index. */
interface SessionDoc {
  _id: string;
  username: string;
  createdAt: string;
  expiresAt: Date;
}
interface CounterDoc {
  _id: string;
  value: number;
}

function isDuplicateKey(err: unknown): boolean {
  return err instanceof MongoServerError && err.code === DUPLICATE_KEY;
}

export class MongoStore implements Store {
  readonly kind = 'mongodb' as const;
  readonly #client: MongoClient;
  readonly #db: Db;
  /** The last event write, settled or not: the next one starts after it (see appendEvent). */
  #eventWrites: Promise<unknown> = Promise.resolve();

  constructor(options: MongoStoreOptions) {
    if (typeof options.uri !== 'string' || !/^mongodb(\+srv)?:\/\//.test(options.uri)) {
      throw new ValidationError('store.uri', 'must be a mongodb:// or mongodb+srv:// connection string');
    }
    const database = options.database ?? 'hypervisor';
    if (!/^[A-Za-z0-9_-]{1,63}$/.test(database)) {
      throw new ValidationError(
        'store.database',
        `must be 1-63 letters, digits, _ or -, got ${JSON.stringify(database)}`,
      );
    }
    // The driver connects lazily; init() connects eagerly so a bad URI fails at start, not at first use.
    this.#client = new MongoClient(options.uri, { appName: 'openhack-hypervisor' });
    this.#db = this.#client.db(database);
  }

  get #desired(): Collection<Revision> {
    return this.#db.collection('desired');
  }
  get #releases(): Collection<ReleaseDoc> {
    return this.#db.collection('releases');
  }
  get #deployments(): Collection<DeploymentRecord> {
    return this.#db.collection('deployments');
  }
  get #events(): Collection<EventRecord> {
    return this.#db.collection('events');
  }
  get #deliveries(): Collection<GithubDelivery> {
    return this.#db.collection('github_events');
  }
  get #users(): Collection<Hyperuser> {
    return this.#db.collection('hyperusers');
  }
  get #sessions(): Collection<SessionDoc> {
    return this.#db.collection('sessions');
  }
  get #counters(): Collection<CounterDoc> {
    return this.#db.collection('counters');
  }

  async init(): Promise<void> {
    await this.#client.connect();
    // createIndex is idempotent, and several hosts may run this at once.
    await Promise.all([
      this.#desired.createIndex({ number: 1 }, { unique: true }),
      // One call per collection: two concurrent createIndex calls would race to create the collection.
      this.#releases.createIndexes([{ key: { tag: 1 }, unique: true }, { key: { seq: 1 } }]),
      this.#deployments.createIndex({ id: 1 }, { unique: true }),
      this.#events.createIndex({ id: 1 }, { unique: true }),
      this.#deliveries.createIndex({ deliveryId: 1 }, { unique: true }),
      this.#users.createIndex({ username: 1 }, { unique: true }),
      this.#sessions.createIndex({ expiresAt: 1 }, { expireAfterSeconds: 0 }),
    ]);
  }

  async close(): Promise<void> {
    await this.#client.close();
  }

  /** The next number of a sequence, atomic across every host sharing the database. */
  async #nextId(name: string): Promise<number> {
    for (;;) {
      try {
        const doc = await this.#counters.findOneAndUpdate(
          { _id: name },
          { $inc: { value: 1 } },
          { upsert: true, returnDocument: 'after' },
        );
        return doc!.value;
      } catch (err) {
        // Two first-ever upserts of one counter can both try the insert; the loser simply increments.
        if (!isDuplicateKey(err)) throw err;
      }
    }
  }

  // desired

  async latestRevision(): Promise<Revision | null> {
    const doc = await this.#desired.findOne({}, { sort: { number: -1 } });
    return doc && rec.copyRevision(doc);
  }

  async appendRevision(input: NewRevision): Promise<Revision> {
    rec.checkExpected(input.expected);
    for (let attempt = 1; ; attempt++) {
      const latest =
        (await this.#desired.findOne({}, { sort: { number: -1 }, projection: { number: 1 } }))?.number ?? 0;
      if (input.expected !== undefined && input.expected !== latest) throw rec.staleRevision(input.expected, latest);
      const revision = rec.copyRevision({ ...input, number: latest + 1, time: rec.nowIso() });
      try {
        await this.#desired.insertOne({ ...revision });
        return revision;
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        // Another writer took latest+1. With If-Match that is a lost update; without, take the next one.
        if (input.expected !== undefined || attempt >= APPEND_ATTEMPTS) throw rec.revisionTaken(revision.number);
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

  // releases

  async getRelease(tag: string): Promise<ReleaseRecord | null> {
    const doc = await this.#releases.findOne({ tag });
    return doc && rec.copyRelease(doc);
  }

  async createRelease(record: Omit<ReleaseRecord, 'createdAt' | 'updatedAt'>): Promise<ReleaseRecord> {
    const release = rec.newRelease(record, rec.nowIso());
    // A store-wide sequence orders "newest first" even when two hosts create releases in one millisecond.
    const seq = await this.#nextId('releases');
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

  // deployments

  async recordDeployment(record: Omit<DeploymentRecord, 'id' | 'time'>): Promise<DeploymentRecord> {
    const deployment = rec.copyDeployment({ ...record, id: await this.#nextId('deployments'), time: rec.nowIso() });
    await this.#deployments.insertOne({ ...deployment });
    return deployment;
  }

  async listDeployments(limit: number): Promise<DeploymentRecord[]> {
    if (rec.checkLimit(limit) === 0) return [];
    const docs = await this.#deployments.find({}).sort({ id: -1 }).limit(limit).toArray();
    return docs.map(rec.copyDeployment);
  }

  // events

  appendEvent(event: NewEvent): Promise<EventRecord> {
    // One event write at a time: overlapping calls would draw ids from the counter in whatever
    // order the server answers, and the ids must follow the order of the calls (the Store contract).
    const write = this.#eventWrites.then(async () => {
      const record = rec.newEventRecord(await this.#nextId('events'), event, rec.nowIso());
      await this.#events.insertOne({ ...record });
      return record;
    });
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

  // github_events

  async insertGithubDelivery(delivery: GithubDelivery): Promise<{ duplicate: boolean }> {
    // The unique index decides between racing copies: exactly one insert succeeds.
    try {
      await this.#deliveries.insertOne(rec.copyDelivery(delivery));
      return { duplicate: false };
    } catch (err) {
      if (isDuplicateKey(err)) return { duplicate: true };
      throw err;
    }
  }

  async getGithubDelivery(deliveryId: string): Promise<GithubDelivery | null> {
    const doc = await this.#deliveries.findOne({ deliveryId });
    return doc && rec.copyDelivery(doc);
  }

  // hyperusers

  async getUser(username: string): Promise<Hyperuser | null> {
    const doc = await this.#users.findOne({ username });
    return doc && rec.copyUser(doc);
  }

  async createUser(user: Omit<Hyperuser, 'createdAt' | 'updatedAt'>): Promise<Hyperuser> {
    const time = rec.nowIso();
    const created = rec.copyUser({ ...user, createdAt: time, updatedAt: time });
    try {
      await this.#users.insertOne({ ...created });
    } catch (err) {
      if (isDuplicateKey(err)) throw new DuplicateKeyError('username', `user ${created.username} already exists`);
      throw err;
    }
    return created;
  }

  async updateUser(username: string, patch: rec.UserPatch): Promise<Hyperuser> {
    const doc = await this.#users.findOneAndUpdate(
      { username },
      { $set: { ...rec.userPatchFields(patch), updatedAt: rec.nowIso() } },
      { returnDocument: 'after' },
    );
    if (!doc) throw new NotFoundError(`user ${username} does not exist`);
    return rec.copyUser(doc);
  }

  async deleteUser(username: string): Promise<boolean> {
    return (await this.#users.deleteOne({ username })).deletedCount > 0;
  }

  async listUsers(): Promise<Hyperuser[]> {
    const docs = await this.#users.find({}).sort({ username: 1 }).toArray();
    return docs.map(rec.copyUser);
  }

  // sessions

  async createSession(session: Session): Promise<void> {
    const expiresAt = new Date(rec.expiryMs(session));
    try {
      await this.#sessions.insertOne({
        _id: session.id,
        username: session.username,
        createdAt: session.createdAt,
        expiresAt,
      });
    } catch (err) {
      if (isDuplicateKey(err)) throw new DuplicateKeyError('id', 'a session with this id already exists');
      throw err;
    }
  }

  async getSession(id: string): Promise<Session | null> {
    // The TTL monitor deletes only about once a minute: the filter keeps an expired session out until then.
    const doc = await this.#sessions.findOne({ _id: id, expiresAt: { $gt: new Date() } });
    return (
      doc && { id: doc._id, username: doc.username, createdAt: doc.createdAt, expiresAt: doc.expiresAt.toISOString() }
    );
  }

  async deleteSession(id: string): Promise<boolean> {
    return (await this.#sessions.deleteOne({ _id: id })).deletedCount > 0;
  }

  async purgeExpiredSessions(): Promise<number> {
    return (await this.#sessions.deleteMany({ expiresAt: { $lte: new Date() } })).deletedCount;
  }
}
