// The persistence port. Two adapters implement it (embedded: better-sqlite3; mongodb: the official
// driver) and one contract suite (test/store-contract.ts) runs against both. Nothing here may assume
// this host is alone in the store: numbers come from the store, uniqueness from its indexes.
import type {
  DeploymentRecord,
  DesiredDoc,
  EventRecord,
  GithubDelivery,
  Hyperuser,
  NewEvent,
  ReleaseRecord,
  Revision,
  Session,
} from '../common/types.js';

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

export type ReleasePatch = Partial<Omit<ReleaseRecord, 'tag' | 'createdAt' | 'updatedAt'>>;

export interface Store {
  readonly kind: 'embedded' | 'mongodb';
  /** Creates tables/collections and indexes. Idempotent. */
  init(): Promise<void>;
  close(): Promise<void>;

  // desired: revisions, numbered 1, 2, 3, ... by the store
  latestRevision(): Promise<Revision | null>;
  /** Throws ConflictError when `expected` is given and stale, or when another writer took the number. */
  appendRevision(input: NewRevision): Promise<Revision>;
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

  // deployments: slot assignments and switches, with history
  recordDeployment(record: Omit<DeploymentRecord, 'id' | 'time'>): Promise<DeploymentRecord>;
  /** Newest first. */
  listDeployments(limit: number): Promise<DeploymentRecord[]>;

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
  createUser(user: Omit<Hyperuser, 'createdAt' | 'updatedAt'>): Promise<Hyperuser>;
  updateUser(username: string, patch: Partial<Pick<Hyperuser, 'passwordHash' | 'roles'>>): Promise<Hyperuser>;
  deleteUser(username: string): Promise<boolean>;
  listUsers(): Promise<Hyperuser[]>;

  // sessions: short-lived, expire by TTL (an expired one is never returned, even before it is purged)
  createSession(session: Session): Promise<void>;
  getSession(id: string): Promise<Session | null>;
  deleteSession(id: string): Promise<boolean>;
  /** Removes expired sessions (the embedded adapter's TTL; MongoDB's TTL index does it by itself). */
  purgeExpiredSessions(): Promise<number>;
}
