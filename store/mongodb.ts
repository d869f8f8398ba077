// The shared store: MongoDB through the official driver. Several hosts may write at once, so nothing
// here reads-then-writes on trust: revision numbers and unique keys are settled by unique indexes,
// ids by atomic counters, and session expiry by a TTL index (and a filter, since TTL runs once a minute).
import { MongoClient, type Collection, type Db } from 'mongodb';
import { DuplicateKeyError, NotFoundError, ValidationError } from '../common/errors.js';
import type {
  Deployment,
  DeploymentEnd,
  GateRecord,
  EventRecord,
  GithubDelivery,
  Hyperuser,
  LoginLockoutRecord,
  NewDeployment,
  NewEvent,
  ReleaseRecord,
  Revision,
  Session,
  StoreHealth,
} from '../common/types.js';
import { HealthState, type HealthListener } from './health.js';
import type {
  NewNotification,
  NotificationRecord,
  NotificationRole,
  NotificationSettle,
  NotificationState,
} from '../common/notifications.js';
import { MongoAuthCollections } from './mongodb-auth.js';
import { MongoNotifyCollections } from './mongodb-notify.js';
import { isDuplicateKey, MongoWriter } from './mongodb-writer.js';
import * as rec from './records.js';
import type { EventsFor, LockoutUpdate, NewRevision, ReleasePatch, Store } from './store.js';

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

type ReleaseDoc = ReleaseRecord & { seq: number };

export class MongoStore implements Store {
  readonly kind = 'mongodb' as const;
  readonly #client: MongoClient;
  readonly #db: Db;
  /** The last event write, settled or not: the next one starts after it (see appendEvent). */
  #eventWrites: Promise<unknown> = Promise.resolve();
  readonly #w: MongoWriter;
  readonly #auth: MongoAuthCollections;
  readonly #notify: MongoNotifyCollections;
  /** Integrity is the server's business (journaling, replication): this store never calls itself damaged. */
  readonly #health: HealthState;

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
    this.#w = new MongoWriter(this.#client, this.#db);
    this.#auth = new MongoAuthCollections(this.#db, this.#w);
    this.#notify = new MongoNotifyCollections(this.#db, this.#w);
    this.#health = new HealthState(`mongodb database ${database}`);
  }

  health(): StoreHealth {
    return this.#health.get();
  }

  onHealthChange(listener: HealthListener): () => void {
    return this.#health.onChange(listener);
  }

  get #desired(): Collection<Revision> {
    return this.#db.collection('desired');
  }
  get #releases(): Collection<ReleaseDoc> {
    return this.#db.collection('releases');
  }
  /** A collection of its own: an older build's `deployments` (a log of unit actions) is left to it. */
  get #deployments(): Collection<Deployment> {
    return this.#db.collection('deployment_ledger');
  }
  get #events(): Collection<EventRecord> {
    return this.#db.collection('events');
  }
  get #deliveries(): Collection<GithubDelivery> {
    return this.#db.collection('github_events');
  }

  async init(): Promise<void> {
    await this.#client.connect();
    await this.#w.detect();
    // createIndex is idempotent, and several hosts may run this at once.
    await Promise.all([
      this.#desired.createIndex({ number: 1 }, { unique: true }),
      // One call per collection: two concurrent createIndex calls would race to create the collection.
      this.#releases.createIndexes([{ key: { tag: 1 }, unique: true }, { key: { seq: 1 } }]),
      this.#deployments.createIndexes([
        { key: { id: 1 }, unique: true },
        // One entry per move, whichever host records it first.
        { key: { revision: 1, color: 1, tag: 1 }, unique: true },
        { key: { endedAt: 1 } },
      ]),
      this.#events.createIndex({ id: 1 }, { unique: true }),
      this.#deliveries.createIndex({ deliveryId: 1 }, { unique: true }),
      this.#auth.createIndexes(),
      this.#notify.createIndexes(),
    ]);
  }

  async close(): Promise<void> {
    await this.#client.close();
  }

  // desired

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

  // releases

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

  // deployments

  async startDeployment(deployment: NewDeployment, events?: EventsFor<Deployment>): Promise<Deployment> {
    try {
      return await this.#w.atomically(async (tx) => {
        const record = rec.newDeployment(await this.#w.nextId('deployment_ledger', tx), deployment, rec.nowIso());
        await this.#deployments.insertOne({ ...record }, { session: tx });
        await this.#w.insertEvents(events?.(record) ?? [], tx);
        return record;
      });
    } catch (err) {
      if (isDuplicateKey(err)) throw rec.deploymentTaken(deployment);
      throw err;
    }
  }

  async endDeployment(id: number, reason: DeploymentEnd): Promise<Deployment | null> {
    const doc = await this.#deployments.findOneAndUpdate(
      { id, endedAt: null },
      { $set: { endedAt: rec.nowIso(), endReason: reason } },
      { returnDocument: 'after' },
    );
    return doc && rec.copyDeployment(doc);
  }

  async recordGate(id: number, record: GateRecord, events?: EventsFor<Deployment>): Promise<Deployment | null> {
    // Compare-and-set on what was read, so a concurrent end or gate is never overwritten: read again.
    for (;;) {
      const outcome = await this.#w.atomically(async (tx) => {
        const found = await this.#deployments.findOne({ id }, { session: tx });
        if (!found) return null;
        const next = rec.withGate(rec.copyDeployment(found), record, rec.nowIso());
        const { gates, verdict, endedAt, endReason } = next;
        const written = await this.#deployments.updateOne(
          { id, endedAt: found.endedAt, gates: found.gates },
          { $set: { gates, verdict, endedAt, endReason } },
          { session: tx },
        );
        if (written.matchedCount === 0) return 'again' as const;
        await this.#w.insertEvents(events?.(next) ?? [], tx);
        return next;
      });
      if (outcome !== 'again') return outcome;
    }
  }

  async openDeployments(): Promise<Deployment[]> {
    const docs = await this.#deployments.find({ endedAt: null }).sort({ id: -1 }).toArray();
    return docs.map(rec.copyDeployment);
  }

  async listDeployments(limit: number): Promise<Deployment[]> {
    if (rec.checkLimit(limit) === 0) return [];
    const docs = await this.#deployments.find({}).sort({ id: -1 }).limit(limit).toArray();
    return docs.map(rec.copyDeployment);
  }

  // events

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

  // hyperusers, sessions, login lockouts (mongodb-auth.ts)

  getUser(username: string): Promise<Hyperuser | null> {
    return this.#auth.getUser(username);
  }

  createUser(user: Omit<Hyperuser, 'createdAt' | 'updatedAt'>, events?: EventsFor<Hyperuser>): Promise<Hyperuser> {
    return this.#auth.createUser(user, events);
  }

  updateUser(username: string, patch: rec.UserPatch, events?: EventsFor<Hyperuser>): Promise<Hyperuser> {
    return this.#auth.updateUser(username, patch, events);
  }

  deleteUser(username: string, events: readonly NewEvent[] = []): Promise<boolean> {
    return this.#auth.deleteUser(username, events);
  }

  listUsers(): Promise<Hyperuser[]> {
    return this.#auth.listUsers();
  }

  createSession(session: Session, events: readonly NewEvent[] = []): Promise<void> {
    return this.#auth.createSession(session, events);
  }

  getSession(id: string): Promise<Session | null> {
    return this.#auth.getSession(id);
  }

  deleteSession(id: string, events: readonly NewEvent[] = []): Promise<boolean> {
    return this.#auth.deleteSession(id, events);
  }

  purgeExpiredSessions(): Promise<number> {
    return this.#auth.purgeExpiredSessions();
  }

  getLoginLockout(name: string): Promise<LoginLockoutRecord | null> {
    return this.#auth.getLoginLockout(name);
  }

  updateLoginLockout(
    name: string,
    update: LockoutUpdate,
    events?: EventsFor<LoginLockoutRecord | null>,
  ): Promise<LoginLockoutRecord | null> {
    return this.#auth.updateLoginLockout(name, update, events);
  }

  // notifications (mongodb-notify.ts)

  notifyCursor(): Promise<number | null> {
    return this.#notify.notifyCursor();
  }

  advanceNotifyCursor(eventId: number): Promise<void> {
    return this.#notify.advanceNotifyCursor(eventId);
  }

  addNotification(notification: NewNotification): Promise<{ duplicate: boolean }> {
    return this.#notify.addNotification(notification);
  }

  lastNotification(target: string, subject: string, roles?: readonly NotificationRole[]) {
    return this.#notify.lastNotification(target, subject, roles);
  }

  dueNotifications(target: string, now: string, limit: number): Promise<NotificationRecord[]> {
    return this.#notify.dueNotifications(target, now, limit);
  }

  claimNotification(id: number, now: string, leaseUntil: string): Promise<NotificationRecord | null> {
    return this.#notify.claimNotification(id, now, leaseUntil);
  }

  settleNotification(id: number, change: NotificationSettle, from: readonly NotificationState[]) {
    return this.#notify.settleNotification(id, change, from);
  }

  listNotifications(limit: number): Promise<NotificationRecord[]> {
    return this.#notify.listNotifications(limit);
  }
}
