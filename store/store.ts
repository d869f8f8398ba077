// The persistence port. Two adapters implement it (embedded: better-sqlite3; mongodb: the official
// driver) and one contract suite (test/store-contract.ts) runs against both. Nothing here may assume
// this host is alone in the store: numbers come from the store, uniqueness from its indexes.
import type {
  NewNotification,
  NotificationRecord,
  NotificationRole,
  NotificationSettle,
  NotificationState,
} from '../common/notifications.js';
import type {
  Deployment,
  DeploymentEnd,
  DesiredDoc,
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
import type { ArchiveRecords } from './archive-records.js';
import type { HealthListener } from './health.js';

export interface NewRevision {
  doc: DesiredDoc;
  source: string;
  author: string;
  /**
   * The revision number the writer based its change on (If-Match). When given and the latest
   * revision is another one, the append fails with ConflictError and nothing is written.
   * `0` means "there must be no revision yet".
   */
  expected?: number;
}

/**
 * Events written in the same transaction as the change they describe, built from what was written
 * (a revision's number, a user's roles): the change and its events are stored together or not at
 * all. The builder may run more than once (a retried transaction), so it must only build.
 */
export type EventsFor<T> = (written: T) => readonly NewEvent[];

/**
 * The next lockout record of a name from its current one (null: none or expired); null deletes it.
 * Runs inside the store's read-modify-write and may run more than once, so it must be pure.
 */
export type LockoutUpdate = (current: LoginLockoutRecord | null) => LoginLockoutRecord | null;

export type ReleasePatch = Partial<Omit<ReleaseRecord, 'tag' | 'createdAt' | 'updatedAt'>>;

export interface Store {
  readonly kind: 'embedded' | 'mongodb';
  /** Creates tables/collections and indexes. Idempotent. */
  init(): Promise<void>;
  close(): Promise<void>;
  /** The last known integrity; while `damaged`, every write throws StoreDamagedError and writes nothing. */
  health(): StoreHealth;
  /** Called when health() changes; returns an unsubscribe. */
  onHealthChange(listener: HealthListener): () => void;
  /** What the log archive has uploaded or still must, and what its daily exports read (archive-records.ts). */
  readonly archive: ArchiveRecords;

  // desired: revisions, numbered 1, 2, 3, ... by the store
  latestRevision(): Promise<Revision | null>;
  /** Throws ConflictError when `expected` is given and stale, or when another writer took the number. */
  appendRevision(input: NewRevision, events?: EventsFor<Revision>): Promise<Revision>;
  getRevision(number: number): Promise<Revision | null>;
  /** Newest first. */
  listRevisions(limit: number): Promise<Revision[]>;

  // releases: unique tag
  getRelease(tag: string): Promise<ReleaseRecord | null>;
  /** Throws DuplicateKeyError('tag', ...) when the tag exists. */
  createRelease(record: Omit<ReleaseRecord, 'createdAt' | 'updatedAt'>): Promise<ReleaseRecord>;
  /** Throws NotFoundError when the tag does not exist. */
  updateRelease(tag: string, patch: ReleasePatch): Promise<ReleaseRecord>;
  /** Newest first. */
  listReleases(limit: number): Promise<ReleaseRecord[]>;
  deleteRelease(tag: string): Promise<void>;

  // deployments: the ledger of which color served which tag to public traffic, from when to when
  /**
   * Opens a ledger entry (serving from now). Throws DuplicateKeyError('deployment', ...) when an
   * entry for the same revision, color and tag exists: another host sharing the store recorded the
   * same move, so the caller adopts that one. `events` are written in the same transaction.
   */
  startDeployment(deployment: NewDeployment, events?: EventsFor<Deployment>): Promise<Deployment>;
  /** Closes an open entry; null (and nothing written) when it is not open (or does not exist). */
  endDeployment(id: number, reason: DeploymentEnd): Promise<Deployment | null>;
  /**
   * Records a gate's result on an entry (replacing an earlier result of the same gate name), and its
   * verdict and end when given; the end only while the entry is open. Null (nothing written, no
   * events) when there is no such entry. `events` are written in the same transaction.
   */
  recordGate(id: number, record: GateRecord, events?: EventsFor<Deployment>): Promise<Deployment | null>;
  /** Entries still serving (normally one), newest first. */
  openDeployments(): Promise<Deployment[]>;
  /** Newest first. */
  listDeployments(limit: number): Promise<Deployment[]>;

  // events: the audit trail; every reconciler decision and operator action
  /**
   * The id is the event's sequence number: within one process, ids follow the order appendEvent was
   * called, even when calls overlap, so a writer that calls it for a cause before its effect gets
   * the order right without waiting for the first write.
   */
  appendEvent(event: NewEvent): Promise<EventRecord>;
  /** Oldest first, ids strictly greater than `afterId` (0 = from the start), at most `limit`. */
  listEventsAfter(afterId: number, limit: number): Promise<EventRecord[]>;
  /** The newest `limit` events, oldest first. */
  listRecentEvents(limit: number): Promise<EventRecord[]>;

  // github_events: raw deliveries, unique delivery id
  /** Returns `{duplicate: true}` and writes nothing when the delivery id was seen, also under races. */
  insertGithubDelivery(delivery: GithubDelivery): Promise<{ duplicate: boolean }>;
  getGithubDelivery(deliveryId: string): Promise<GithubDelivery | null>;

  // hyperusers: unique username
  getUser(username: string): Promise<Hyperuser | null>;
  /** Throws DuplicateKeyError('username', ...) when the name exists. */
  createUser(user: Omit<Hyperuser, 'createdAt' | 'updatedAt'>, events?: EventsFor<Hyperuser>): Promise<Hyperuser>;
  /** Throws NotFoundError when the name does not exist. */
  updateUser(
    username: string,
    patch: Partial<Pick<Hyperuser, 'passwordHash' | 'roles'>>,
    events?: EventsFor<Hyperuser>,
  ): Promise<Hyperuser>;
  /** False (and no events written) when there was no such user. */
  deleteUser(username: string, events?: readonly NewEvent[]): Promise<boolean>;
  listUsers(): Promise<Hyperuser[]>;

  // sessions: short-lived, expire by TTL (an expired one is never returned, even before it is purged)
  createSession(session: Session, events?: readonly NewEvent[]): Promise<void>;
  getSession(id: string): Promise<Session | null>;
  /** False (and no events written) when there was no such session. */
  deleteSession(id: string, events?: readonly NewEvent[]): Promise<boolean>;
  /** Removes expired sessions (the embedded adapter's TTL; MongoDB's TTL index does it by itself). */
  purgeExpiredSessions(): Promise<number>;

  // login_lockouts: failed logins per account name, unique name, expire by TTL like sessions
  /** Null when there is none or it expired. */
  getLoginLockout(name: string): Promise<LoginLockoutRecord | null>;
  /**
   * Read-modify-write of one name's record, atomic across every process sharing the store; returns
   * what was stored (null: deleted). `events` are written in the same transaction.
   */
  updateLoginLockout(
    name: string,
    update: LockoutUpdate,
    events?: EventsFor<LoginLockoutRecord | null>,
  ): Promise<LoginLockoutRecord | null>;

  // notifications: the notifier's cursor over the event trail, and its outbox (notify/)
  /** The id of the last event the notifier went through; null before its first start. */
  notifyCursor(): Promise<number | null>;
  /** Raises the cursor to `eventId`; a lower one changes nothing (another host went further). */
  advanceNotifyCursor(eventId: number): Promise<void>;
  /** Writes a message; `{duplicate: true}` and nothing written when one with its key exists, also under races. */
  addNotification(notification: NewNotification): Promise<{ duplicate: boolean }>;
  /** The newest message to `target` about `subject` that was not cancelled, of one of `roles` when given. */
  lastNotification(
    target: string,
    subject: string,
    roles?: readonly NotificationRole[],
  ): Promise<NotificationRecord | null>;
  /** Messages of `target` that are due at `now`: held or pending, notBefore passed, no live lease; oldest first. */
  dueNotifications(target: string, now: string, limit: number): Promise<NotificationRecord[]>;
  /**
   * Takes a due message for one try: state pending, attempts + 1, leased until `leaseUntil`. Null
   * when it is not due any more (settled, or taken by another host whose lease still runs).
   */
  claimNotification(id: number, now: string, leaseUntil: string): Promise<NotificationRecord | null>;
  /** Ends a try or a hold and drops the lease; null (nothing written) when its state is not one of `from`. */
  settleNotification(
    id: number,
    change: NotificationSettle,
    from: readonly NotificationState[],
  ): Promise<NotificationRecord | null>;
  /** Newest first. */
  listNotifications(limit: number): Promise<NotificationRecord[]>;
}
