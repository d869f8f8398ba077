// The default store: one SQLite file (better-sqlite3), zero setup. Calls are synchronous under the
// hood, so within one process every method runs to its end before the next starts; across processes
// (daemon + hyperctl on one file) the write transactions are IMMEDIATE and uniqueness comes from keys.
// Every write is one transaction with the events that describe it (embedded-connection.ts).
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
import type {
  NewNotification,
  NotificationRecord,
  NotificationRole,
  NotificationSettle,
  NotificationState,
} from '../common/notifications.js';
import type { ArchiveRecords } from './archive-records.js';
import { EmbeddedArchiveRecords } from './embedded-archive.js';
import { EmbeddedAuthTables } from './embedded-auth.js';
import { SqliteConnection } from './embedded-connection.js';
import { EmbeddedDeploymentLedger } from './embedded-deployments.js';
import { EmbeddedNotifyTables } from './embedded-notify.js';
import { EmbeddedReleaseTable } from './embedded-releases.js';
import * as row from './embedded-rows.js';
import type { HealthListener } from './health.js';
import * as rec from './records.js';
import type { EventsFor, LockoutUpdate, NewRevision, ReleasePatch, Store } from './store.js';

export interface EmbeddedStoreOptions {
  /** The database file (its folder is created), or `:memory:` for a store that lives as long as the object. */
  path: string;
}

export class EmbeddedStore implements Store {
  readonly kind = 'embedded' as const;
  readonly #c: SqliteConnection;
  readonly #releases: EmbeddedReleaseTable;
  readonly #deployments: EmbeddedDeploymentLedger;
  readonly #auth: EmbeddedAuthTables;
  readonly #notify: EmbeddedNotifyTables;
  readonly archive: ArchiveRecords;

  constructor(options: EmbeddedStoreOptions) {
    if (typeof options.path !== 'string' || options.path.trim() === '') {
      throw new ValidationError('store.path', `must be a file path or ":memory:", got ${JSON.stringify(options.path)}`);
    }
    this.#c = new SqliteConnection(options.path);
    this.#releases = new EmbeddedReleaseTable(this.#c);
    this.#deployments = new EmbeddedDeploymentLedger(this.#c);
    this.#auth = new EmbeddedAuthTables(this.#c);
    this.#notify = new EmbeddedNotifyTables(this.#c);
    this.archive = new EmbeddedArchiveRecords(this.#c);
  }

  /** Opens the file and runs quick_check: a damaged file still opens (reads may serve), but refuses writes. */
  async init(): Promise<void> {
    this.#c.open();
  }

  async close(): Promise<void> {
    this.#c.close();
  }

  health(): StoreHealth {
    return this.#c.health();
  }

  onHealthChange(listener: HealthListener): () => void {
    return this.#c.onHealthChange(listener);
  }

  // desired

  async latestRevision(): Promise<Revision | null> {
    const sql = 'SELECT * FROM desired ORDER BY number DESC LIMIT 1';
    const found = this.#c.read(() => this.#c.get<row.RevisionRow>(sql));
    return found && row.toRevision(found);
  }

  async appendRevision(input: NewRevision, events?: EventsFor<Revision>): Promise<Revision> {
    rec.checkExpected(input.expected);
    return this.#c.write((): Revision => {
      const latest = this.#c.get<{ n: number }>('SELECT COALESCE(MAX(number), 0) AS n FROM desired')!.n;
      if (input.expected !== undefined && input.expected !== latest) throw rec.staleRevision(input.expected, latest);
      const revision = rec.copyRevision({ ...input, number: latest + 1, time: rec.nowIso() });
      this.#c.run(
        'INSERT INTO desired (number, doc, source, author, time) VALUES (?, ?, ?, ?, ?)',
        revision.number,
        JSON.stringify(revision.doc),
        revision.source,
        revision.author,
        revision.time,
      );
      this.#c.insertEvents(events?.(revision) ?? []);
      return revision;
    });
  }

  async getRevision(number: number): Promise<Revision | null> {
    const found = this.#c.read(() => this.#c.get<row.RevisionRow>('SELECT * FROM desired WHERE number = ?', number));
    return found && row.toRevision(found);
  }

  async listRevisions(limit: number): Promise<Revision[]> {
    const sql = 'SELECT * FROM desired ORDER BY number DESC LIMIT ?';
    return this.#c.read(() => this.#c.all<row.RevisionRow>(sql, rec.checkLimit(limit))).map(row.toRevision);
  }

  // releases (embedded-releases.ts)

  async getRelease(tag: string): Promise<ReleaseRecord | null> {
    return this.#releases.getRelease(tag);
  }

  async createRelease(record: Omit<ReleaseRecord, 'createdAt' | 'updatedAt'>): Promise<ReleaseRecord> {
    return this.#releases.createRelease(record);
  }

  async updateRelease(tag: string, patch: ReleasePatch): Promise<ReleaseRecord> {
    return this.#releases.updateRelease(tag, patch);
  }

  async listReleases(limit: number): Promise<ReleaseRecord[]> {
    return this.#releases.listReleases(limit);
  }

  async deleteRelease(tag: string): Promise<void> {
    this.#releases.deleteRelease(tag);
  }

  // deployments (embedded-deployments.ts)

  async startDeployment(deployment: NewDeployment, events?: EventsFor<Deployment>): Promise<Deployment> {
    return this.#deployments.startDeployment(deployment, events);
  }

  async endDeployment(id: number, reason: DeploymentEnd): Promise<Deployment | null> {
    return this.#deployments.endDeployment(id, reason);
  }

  async recordGate(id: number, record: GateRecord, events?: EventsFor<Deployment>): Promise<Deployment | null> {
    return this.#deployments.recordGate(id, record, events);
  }

  async openDeployments(): Promise<Deployment[]> {
    return this.#deployments.openDeployments();
  }

  async listDeployments(limit: number): Promise<Deployment[]> {
    return this.#deployments.listDeployments(limit);
  }

  // events

  async appendEvent(event: NewEvent): Promise<EventRecord> {
    // The insert runs synchronously inside the call, so ids follow the order of the calls.
    return this.#c.write(() => this.#c.insertEvents([event])[0]!);
  }

  async listEventsAfter(afterId: number, limit: number): Promise<EventRecord[]> {
    const sql = 'SELECT * FROM events WHERE id > ? ORDER BY id ASC LIMIT ?';
    const args = [rec.checkAfterId(afterId), rec.checkLimit(limit)];
    return this.#c.read(() => this.#c.all<row.EventRow>(sql, ...args)).map(row.toEvent);
  }

  async listRecentEvents(limit: number): Promise<EventRecord[]> {
    const sql = 'SELECT * FROM (SELECT * FROM events ORDER BY id DESC LIMIT ?) ORDER BY id ASC';
    return this.#c.read(() => this.#c.all<row.EventRow>(sql, rec.checkLimit(limit))).map(row.toEvent);
  }

  // github_events

  async insertGithubDelivery(delivery: GithubDelivery): Promise<{ duplicate: boolean }> {
    // The primary key decides: the copy that inserts is the original, every other one changes nothing.
    const result = this.#c.write(() =>
      this.#c.run(
        'INSERT OR IGNORE INTO github_events (delivery_id, event, payload, received_at) VALUES (?, ?, ?, ?)',
        delivery.deliveryId,
        delivery.event,
        delivery.payload,
        delivery.receivedAt,
      ),
    );
    return { duplicate: result.changes === 0 };
  }

  async getGithubDelivery(deliveryId: string): Promise<GithubDelivery | null> {
    const sql = 'SELECT * FROM github_events WHERE delivery_id = ?';
    const found = this.#c.read(() => this.#c.get<row.DeliveryRow>(sql, deliveryId));
    return found && row.toDelivery(found);
  }

  // hyperusers, sessions, login lockouts (embedded-auth.ts)

  async getUser(username: string): Promise<Hyperuser | null> {
    return this.#auth.getUser(username);
  }

  async createUser(
    user: Omit<Hyperuser, 'createdAt' | 'updatedAt'>,
    events?: EventsFor<Hyperuser>,
  ): Promise<Hyperuser> {
    return this.#auth.createUser(user, events);
  }

  async updateUser(username: string, patch: rec.UserPatch, events?: EventsFor<Hyperuser>): Promise<Hyperuser> {
    return this.#auth.updateUser(username, patch, events);
  }

  async deleteUser(username: string, events: readonly NewEvent[] = []): Promise<boolean> {
    return this.#auth.deleteUser(username, events);
  }

  async listUsers(): Promise<Hyperuser[]> {
    return this.#auth.listUsers();
  }

  async createSession(session: Session, events: readonly NewEvent[] = []): Promise<void> {
    this.#auth.createSession(session, events);
  }

  async getSession(id: string): Promise<Session | null> {
    return this.#auth.getSession(id);
  }

  async deleteSession(id: string, events: readonly NewEvent[] = []): Promise<boolean> {
    return this.#auth.deleteSession(id, events);
  }

  async purgeExpiredSessions(): Promise<number> {
    return this.#auth.purgeExpiredSessions();
  }

  async getLoginLockout(name: string): Promise<LoginLockoutRecord | null> {
    return this.#auth.getLoginLockout(name);
  }

  async updateLoginLockout(
    name: string,
    update: LockoutUpdate,
    events?: EventsFor<LoginLockoutRecord | null>,
  ): Promise<LoginLockoutRecord | null> {
    return this.#auth.updateLoginLockout(name, update, events);
  }

  // notifications (embedded-notify.ts)

  async notifyCursor(): Promise<number | null> {
    return this.#notify.notifyCursor();
  }

  async advanceNotifyCursor(eventId: number): Promise<void> {
    this.#notify.advanceNotifyCursor(eventId);
  }

  async addNotification(notification: NewNotification): Promise<{ duplicate: boolean }> {
    return this.#notify.addNotification(notification);
  }

  async lastNotification(target: string, subject: string, roles?: readonly NotificationRole[]) {
    return this.#notify.lastNotification(target, subject, roles);
  }

  async dueNotifications(target: string, now: string, limit: number): Promise<NotificationRecord[]> {
    return this.#notify.dueNotifications(target, now, limit);
  }

  async claimNotification(id: number, now: string, leaseUntil: string): Promise<NotificationRecord | null> {
    return this.#notify.claimNotification(id, now, leaseUntil);
  }

  async settleNotification(id: number, change: NotificationSettle, from: readonly NotificationState[]) {
    return this.#notify.settleNotification(id, change, from);
  }

  async listNotifications(limit: number): Promise<NotificationRecord[]> {
    return this.#notify.listNotifications(limit);
  }
}
