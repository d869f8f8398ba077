// The MongoDB adapter's auth collections: hyperusers, sessions and login lockouts. Kept apart from
// the deployment collections so each file reads at once; MongoStore delegates to it.
import type { Collection, Db } from 'mongodb';
import { DuplicateKeyError, NotFoundError } from '../common/errors.js';
import type { Hyperuser, LoginLockoutRecord, NewEvent, Session } from '../common/types.js';
import { isDuplicateKey, type MongoWriter, type Tx } from './mongodb-writer.js';
import * as rec from './records.js';
import type { EventsFor, LockoutUpdate } from './store.js';

/** The session id is the document's `_id`: unique and looked up by it, with no second index. */
interface SessionDoc {
  _id: string;
  username: string;
  createdAt: string;
  expiresAt: Date;
}

/** `expiresAt` is a Date for the TTL index; `version` lets a standalone server compare-and-swap. */
type LockoutDoc = Omit<LoginLockoutRecord, 'expiresAt'> & { expiresAt: Date; version: number };

const toLockout = (doc: LockoutDoc): LoginLockoutRecord =>
  rec.copyLockout({ ...doc, expiresAt: doc.expiresAt.toISOString() });

export class MongoAuthCollections {
  readonly #db: Db;
  readonly #w: MongoWriter;

  constructor(db: Db, writer: MongoWriter) {
    this.#db = db;
    this.#w = writer;
  }

  get #users(): Collection<Hyperuser> {
    return this.#db.collection('hyperusers');
  }
  get #sessions(): Collection<SessionDoc> {
    return this.#db.collection('sessions');
  }
  get #lockouts(): Collection<LockoutDoc> {
    return this.#db.collection('login_lockouts');
  }

  async createIndexes(): Promise<void> {
    await Promise.all([
      this.#users.createIndex({ username: 1 }, { unique: true }),
      this.#sessions.createIndex({ expiresAt: 1 }, { expireAfterSeconds: 0 }),
      this.#lockouts.createIndexes([
        { key: { name: 1 }, unique: true },
        { key: { expiresAt: 1 }, expireAfterSeconds: 0 },
      ]),
    ]);
  }

  async getUser(username: string): Promise<Hyperuser | null> {
    const doc = await this.#users.findOne({ username });
    return doc && rec.copyUser(doc);
  }

  async createUser(
    user: Omit<Hyperuser, 'createdAt' | 'updatedAt'>,
    events?: EventsFor<Hyperuser>,
  ): Promise<Hyperuser> {
    const time = rec.nowIso();
    const created = rec.copyUser({ ...user, createdAt: time, updatedAt: time });
    return this.#w.atomically(async (tx) => {
      try {
        await this.#users.insertOne({ ...created }, { session: tx });
      } catch (err) {
        if (isDuplicateKey(err)) throw new DuplicateKeyError('username', `user ${created.username} already exists`);
        throw err;
      }
      await this.#w.insertEvents(events?.(created) ?? [], tx);
      return created;
    });
  }

  async updateUser(username: string, patch: rec.UserPatch, events?: EventsFor<Hyperuser>): Promise<Hyperuser> {
    return this.#w.atomically(async (tx) => {
      const doc = await this.#users.findOneAndUpdate(
        { username },
        { $set: { ...rec.userPatchFields(patch), updatedAt: rec.nowIso() } },
        { returnDocument: 'after', session: tx },
      );
      if (!doc) throw new NotFoundError(`user ${username} does not exist`);
      const updated = rec.copyUser(doc);
      await this.#w.insertEvents(events?.(updated) ?? [], tx);
      return updated;
    });
  }

  async deleteUser(username: string, events: readonly NewEvent[]): Promise<boolean> {
    return this.#w.atomically(async (tx) => {
      const removed = (await this.#users.deleteOne({ username }, { session: tx })).deletedCount > 0;
      if (removed) await this.#w.insertEvents(events, tx);
      return removed;
    });
  }

  async listUsers(): Promise<Hyperuser[]> {
    const docs = await this.#users.find({}).sort({ username: 1 }).toArray();
    return docs.map(rec.copyUser);
  }

  async createSession(session: Session, events: readonly NewEvent[]): Promise<void> {
    const expiresAt = new Date(rec.expiryMs(session));
    const doc = { _id: session.id, username: session.username, createdAt: session.createdAt, expiresAt };
    await this.#w.atomically(async (tx) => {
      try {
        await this.#sessions.insertOne(doc, { session: tx });
      } catch (err) {
        if (isDuplicateKey(err)) throw new DuplicateKeyError('id', 'a session with this id already exists');
        throw err;
      }
      await this.#w.insertEvents(events, tx);
    });
  }

  async getSession(id: string): Promise<Session | null> {
    // The TTL monitor deletes only about once a minute: the filter keeps an expired session out until then.
    const doc = await this.#sessions.findOne({ _id: id, expiresAt: { $gt: new Date() } });
    return (
      doc && { id: doc._id, username: doc.username, createdAt: doc.createdAt, expiresAt: doc.expiresAt.toISOString() }
    );
  }

  async deleteSession(id: string, events: readonly NewEvent[]): Promise<boolean> {
    return this.#w.atomically(async (tx) => {
      const removed = (await this.#sessions.deleteOne({ _id: id }, { session: tx })).deletedCount > 0;
      if (removed) await this.#w.insertEvents(events, tx);
      return removed;
    });
  }

  async purgeExpiredSessions(): Promise<number> {
    return (await this.#sessions.deleteMany({ expiresAt: { $lte: new Date() } })).deletedCount;
  }

  async getLoginLockout(name: string): Promise<LoginLockoutRecord | null> {
    const doc = await this.#lockouts.findOne({ name, expiresAt: { $gt: new Date() } });
    return doc && toLockout(doc);
  }

  /** Compare-and-swap on `version`: a lost race reads again, so two hosts never overwrite each other's count. */
  async updateLoginLockout(
    name: string,
    update: LockoutUpdate,
    events?: EventsFor<LoginLockoutRecord | null>,
  ): Promise<LoginLockoutRecord | null> {
    for (;;) {
      const written = await this.#w.atomically(async (tx) => {
        const doc = await this.#lockouts.findOne({ name }, { session: tx });
        const live = doc && doc.expiresAt.getTime() > Date.now() ? toLockout(doc) : null;
        const proposed = update(live);
        const next = proposed && rec.checkLockout(name, proposed);
        if (!(await this.#swap(name, doc?.version ?? null, next, tx))) return { lost: true as const };
        await this.#w.insertEvents(events?.(next) ?? [], tx);
        return { lost: false as const, next };
      });
      if (!written.lost) return written.next;
    }
  }

  async #swap(name: string, version: number | null, next: LoginLockoutRecord | null, tx: Tx): Promise<boolean> {
    if (version === null) {
      if (next === null) return true;
      try {
        await this.#lockouts.insertOne({ ...next, expiresAt: new Date(next.expiresAt), version: 1 }, { session: tx });
        return true;
      } catch (err) {
        // Another host created it first: outside a transaction, read it again and retry.
        if (isDuplicateKey(err) && !tx) return false;
        throw err;
      }
    }
    if (next === null) return (await this.#lockouts.deleteOne({ name, version }, { session: tx })).deletedCount > 0;
    const doc = { ...next, expiresAt: new Date(next.expiresAt), version: version + 1 };
    return (await this.#lockouts.replaceOne({ name, version }, doc, { session: tx })).matchedCount > 0;
  }
}
