// The shared store: MongoDB through the official driver. Several hosts may write at once, so nothing
// here reads-then-writes on trust: revision numbers and unique keys are settled by unique indexes,
// ids by atomic counters, and session expiry by a TTL index (and a filter, since TTL runs once a minute).
import { MongoClient, type Collection, type Db } from 'mongodb';
import { ValidationError } from '../common/errors.js';
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
import { MongoArchiveRecords } from './mongodb-archive.js';
import { MongoAuthCollections } from './mongodb-auth.js';
import { MongoDeploymentCollection } from './mongodb-deployments.js';
import { MongoEventCollection } from './mongodb-events.js';
import { MongoNotifyCollections } from './mongodb-notify.js';
import { MongoReleaseCollection } from './mongodb-releases.js';
import { MongoRevisionCollection } from './mongodb-revisions.js';
import { isDuplicateKey, MongoWriter } from './mongodb-writer.js';
import * as rec from './records.js';
import type { EventsFor, LockoutUpdate, NewRevision, ReleasePatch, Store } from './store.js';

export interface MongoStoreOptions {
  /** A `mongodb://` or `mongodb+srv://` connection string. */
  uri: string;
  /** @default 'hypervisor' */
  database?: string;
}

export class MongoStore implements Store {
  readonly kind = 'mongodb' as const;
  readonly #client: MongoClient;
  readonly #db: Db;
  readonly #w: MongoWriter;
  readonly #revisions: MongoRevisionCollection;
  readonly #releases: MongoReleaseCollection;
  readonly #deployments: MongoDeploymentCollection;
  readonly #events: MongoEventCollection;
  readonly #auth: MongoAuthCollections;
  readonly #notify: MongoNotifyCollections;
  readonly archive: MongoArchiveRecords;
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
    this.#revisions = new MongoRevisionCollection(this.#db, this.#w);
    this.#releases = new MongoReleaseCollection(this.#db, this.#w);
    this.#deployments = new MongoDeploymentCollection(this.#db, this.#w);
    this.#events = new MongoEventCollection(this.#db, this.#w);
    this.#auth = new MongoAuthCollections(this.#db, this.#w);
    this.#notify = new MongoNotifyCollections(this.#db, this.#w);
    this.archive = new MongoArchiveRecords(this.#db);
    this.#health = new HealthState(`mongodb database ${database}`);
  }

  health(): StoreHealth {
    return this.#health.get();
  }

  onHealthChange(listener: HealthListener): () => void {
    return this.#health.onChange(listener);
  }

  get #deliveries(): Collection<GithubDelivery> {
    return this.#db.collection('github_events');
  }

  async init(): Promise<void> {
    await this.#client.connect();
    await this.#w.detect();
    // createIndex is idempotent, and several hosts may run this at once.
    await Promise.all([
      this.#revisions.createIndexes(),
      this.#releases.createIndexes(),
      this.#deployments.createIndexes(),
      this.#events.createIndexes(),
      // receivedAt: the archive's daily export reads one day at a time.
      this.#deliveries.createIndexes([
        { key: { deliveryId: 1 }, unique: true },
        { key: { receivedAt: 1, deliveryId: 1 } },
      ]),
      this.#auth.createIndexes(),
      this.#notify.createIndexes(),
      this.archive.createIndexes(),
    ]);
  }

  async close(): Promise<void> {
    await this.#client.close();
  }

  // desired-state revisions (mongodb-revisions.ts)

  latestRevision(): Promise<Revision | null> {
    return this.#revisions.latestRevision();
  }

  appendRevision(input: NewRevision, events?: EventsFor<Revision>): Promise<Revision> {
    return this.#revisions.appendRevision(input, events);
  }

  getRevision(number: number): Promise<Revision | null> {
    return this.#revisions.getRevision(number);
  }

  listRevisions(limit: number): Promise<Revision[]> {
    return this.#revisions.listRevisions(limit);
  }

  // releases (mongodb-releases.ts)

  getRelease(tag: string): Promise<ReleaseRecord | null> {
    return this.#releases.getRelease(tag);
  }

  createRelease(record: Omit<ReleaseRecord, 'createdAt' | 'updatedAt'>): Promise<ReleaseRecord> {
    return this.#releases.createRelease(record);
  }

  updateRelease(tag: string, patch: ReleasePatch): Promise<ReleaseRecord> {
    return this.#releases.updateRelease(tag, patch);
  }

  listReleases(limit: number): Promise<ReleaseRecord[]> {
    return this.#releases.listReleases(limit);
  }

  deleteRelease(tag: string): Promise<void> {
    return this.#releases.deleteRelease(tag);
  }

  // the deployment ledger (mongodb-deployments.ts)

  startDeployment(deployment: NewDeployment, events?: EventsFor<Deployment>): Promise<Deployment> {
    return this.#deployments.startDeployment(deployment, events);
  }

  endDeployment(id: number, reason: DeploymentEnd): Promise<Deployment | null> {
    return this.#deployments.endDeployment(id, reason);
  }

  recordGate(id: number, record: GateRecord, events?: EventsFor<Deployment>): Promise<Deployment | null> {
    return this.#deployments.recordGate(id, record, events);
  }

  openDeployments(): Promise<Deployment[]> {
    return this.#deployments.openDeployments();
  }

  listDeployments(limit: number): Promise<Deployment[]> {
    return this.#deployments.listDeployments(limit);
  }

  // events (mongodb-events.ts)

  appendEvent(event: NewEvent): Promise<EventRecord> {
    return this.#events.appendEvent(event);
  }

  listEventsAfter(afterId: number, limit: number): Promise<EventRecord[]> {
    return this.#events.listEventsAfter(afterId, limit);
  }

  listRecentEvents(limit: number): Promise<EventRecord[]> {
    return this.#events.listRecentEvents(limit);
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
