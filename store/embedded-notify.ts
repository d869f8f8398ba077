// The embedded store's notification tables: the notifier's cursor and its outbox. Kept apart from
// the other tables so each file reads at once; EmbeddedStore delegates to it. The columns are what
// the queries filter on; the whole record is the JSON doc, rewritten with them on every change.
import type {
  NewNotification,
  NotificationRecord,
  NotificationRole,
  NotificationSettle,
  NotificationState,
} from '../common/notifications.js';
import type { SqliteConnection } from './embedded-connection.js';
import * as row from './embedded-rows.js';
import * as nrec from './notify-records.js';
import * as rec from './records.js';

const UPDATE = 'UPDATE notifications SET state = ?, not_before = ?, lease_until = ?, doc = ? WHERE id = ?';

export class EmbeddedNotifyTables {
  readonly #c: SqliteConnection;

  constructor(connection: SqliteConnection) {
    this.#c = connection;
  }

  notifyCursor(): number | null {
    const sql = "SELECT event_id FROM notify_cursor WHERE name = 'events'";
    return this.#c.read(() => this.#c.get<{ event_id: number }>(sql))?.event_id ?? null;
  }

  advanceNotifyCursor(eventId: number): void {
    rec.checkAfterId(eventId);
    const sql =
      "INSERT INTO notify_cursor (name, event_id) VALUES ('events', ?) " +
      'ON CONFLICT (name) DO UPDATE SET event_id = MAX(event_id, excluded.event_id)';
    this.#c.write(() => this.#c.run(sql, eventId));
  }

  addNotification(n: NewNotification): { duplicate: boolean } {
    return this.#c.write(() => {
      const next = this.#c.get<{ n: number }>('SELECT COALESCE(MAX(id), 0) + 1 AS n FROM notifications')!.n;
      const record = nrec.newNotification(next, n, rec.nowIso());
      const result = this.#c.run(
        'INSERT OR IGNORE INTO notifications (id, key, target, subject, role, state, not_before, lease_until, doc) ' +
          'VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?)',
        record.id,
        record.key,
        record.target,
        record.subject,
        record.role,
        record.state,
        record.notBefore,
        JSON.stringify(record),
      );
      return { duplicate: result.changes === 0 };
    });
  }

  lastNotification(target: string, subject: string, roles?: readonly NotificationRole[]): NotificationRecord | null {
    const byRole = roles ? `AND role IN (${roles.map(() => '?').join(', ')})` : '';
    const sql =
      "SELECT doc FROM notifications WHERE target = ? AND subject = ? AND state <> 'cancelled' " +
      `${byRole} ORDER BY id DESC LIMIT 1`;
    const found = this.#c.read(() => this.#c.get<{ doc: string }>(sql, target, subject, ...(roles ?? [])));
    return found && row.toNotification(found);
  }

  dueNotifications(target: string, now: string, limit: number): NotificationRecord[] {
    nrec.checkTime(now, 'now');
    const sql =
      "SELECT doc FROM notifications WHERE target = ? AND state IN ('pending', 'held') " +
      'AND (not_before IS NULL OR not_before <= ?) AND (lease_until IS NULL OR lease_until <= ?) ' +
      'ORDER BY id ASC LIMIT ?';
    const rows = this.#c.read(() => this.#c.all<{ doc: string }>(sql, target, now, now, rec.checkLimit(limit)));
    return rows.map(row.toNotification);
  }

  claimNotification(id: number, now: string, leaseUntil: string): NotificationRecord | null {
    nrec.checkTime(now, 'now');
    nrec.checkTime(leaseUntil, 'leaseUntil');
    return this.#c.write((): NotificationRecord | null => {
      const current = this.#get(id);
      if (!current || !nrec.isDue(current, now)) return null;
      return this.#put(nrec.claimed(current, leaseUntil, rec.nowIso()));
    });
  }

  settleNotification(
    id: number,
    change: NotificationSettle,
    from: readonly NotificationState[],
  ): NotificationRecord | null {
    return this.#c.write((): NotificationRecord | null => {
      const current = this.#get(id);
      if (!current || !from.includes(current.state)) return null;
      return this.#put(nrec.settled(current, change, rec.nowIso()));
    });
  }

  listNotifications(limit: number): NotificationRecord[] {
    const sql = 'SELECT doc FROM notifications ORDER BY id DESC LIMIT ?';
    return this.#c.read(() => this.#c.all<{ doc: string }>(sql, rec.checkLimit(limit))).map(row.toNotification);
  }

  /** Inside write() only. */
  #get(id: number): NotificationRecord | null {
    const found = this.#c.get<{ doc: string }>('SELECT doc FROM notifications WHERE id = ?', id);
    return found && row.toNotification(found);
  }

  /** Inside write() only. */
  #put(n: NotificationRecord): NotificationRecord {
    this.#c.run(UPDATE, n.state, n.notBefore, n.leaseUntil, JSON.stringify(n), n.id);
    return n;
  }
}
