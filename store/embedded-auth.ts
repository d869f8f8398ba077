// The embedded store's auth tables: hyperusers, sessions and login lockouts. Kept apart from the
// deployment tables so each file reads at once; EmbeddedStore delegates to it.
import { DuplicateKeyError, NotFoundError } from '../common/errors.js';
import type { Hyperuser, LoginLockoutRecord, NewEvent, Session } from '../common/types.js';
import type { SqliteConnection } from './embedded-connection.js';
import * as row from './embedded-rows.js';
import * as rec from './records.js';
import type { EventsFor, LockoutUpdate } from './store.js';

const UPSERT_LOCKOUT =
  'INSERT INTO login_lockouts (name, doc, expires_at_ms) VALUES (?, ?, ?) ' +
  'ON CONFLICT (name) DO UPDATE SET doc = excluded.doc, expires_at_ms = excluded.expires_at_ms';

export class EmbeddedAuthTables {
  readonly #c: SqliteConnection;

  constructor(connection: SqliteConnection) {
    this.#c = connection;
  }

  getUser(username: string): Hyperuser | null {
    const found = this.#c.read(() => this.#c.get<row.UserRow>('SELECT * FROM hyperusers WHERE username = ?', username));
    return found && row.toUser(found);
  }

  createUser(user: Omit<Hyperuser, 'createdAt' | 'updatedAt'>, events?: EventsFor<Hyperuser>): Hyperuser {
    const time = rec.nowIso();
    const created = rec.copyUser({ ...user, createdAt: time, updatedAt: time });
    return this.#c.write((): Hyperuser => {
      try {
        this.#c.run(
          'INSERT INTO hyperusers (username, password_hash, roles, created_at, updated_at) VALUES (?, ?, ?, ?, ?)',
          created.username,
          created.passwordHash,
          JSON.stringify(created.roles),
          time,
          time,
        );
      } catch (err) {
        if (row.isUniqueViolation(err))
          throw new DuplicateKeyError('username', `user ${created.username} already exists`);
        throw err;
      }
      this.#c.insertEvents(events?.(created) ?? []);
      return created;
    });
  }

  updateUser(username: string, patch: rec.UserPatch, events?: EventsFor<Hyperuser>): Hyperuser {
    return this.#c.write((): Hyperuser => {
      const found = this.#c.get<row.UserRow>('SELECT * FROM hyperusers WHERE username = ?', username);
      if (!found) throw new NotFoundError(`user ${username} does not exist`);
      const next = rec.copyUser({ ...row.toUser(found), ...rec.userPatchFields(patch), updatedAt: rec.nowIso() });
      this.#c.run(
        'UPDATE hyperusers SET password_hash = ?, roles = ?, updated_at = ? WHERE username = ?',
        next.passwordHash,
        JSON.stringify(next.roles),
        next.updatedAt,
        username,
      );
      this.#c.insertEvents(events?.(next) ?? []);
      return next;
    });
  }

  deleteUser(username: string, events: readonly NewEvent[]): boolean {
    return this.#c.write((): boolean => {
      const removed = this.#c.run('DELETE FROM hyperusers WHERE username = ?', username).changes > 0;
      if (removed) this.#c.insertEvents(events);
      return removed;
    });
  }

  listUsers(): Hyperuser[] {
    const sql = 'SELECT * FROM hyperusers ORDER BY username ASC';
    return this.#c.read(() => this.#c.all<row.UserRow>(sql)).map(row.toUser);
  }

  createSession(session: Session, events: readonly NewEvent[]): void {
    const expiresAtMs = rec.expiryMs(session);
    this.#c.write(() => {
      try {
        this.#c.run(
          'INSERT INTO sessions (id, username, created_at, expires_at_ms) VALUES (?, ?, ?, ?)',
          session.id,
          session.username,
          session.createdAt,
          expiresAtMs,
        );
      } catch (err) {
        if (row.isUniqueViolation(err)) throw new DuplicateKeyError('id', 'a session with this id already exists');
        throw err;
      }
      this.#c.insertEvents(events);
    });
  }

  getSession(id: string): Session | null {
    // Filtered by expiry here, not only by the purge: an expired session must never authenticate.
    const sql = 'SELECT * FROM sessions WHERE id = ? AND expires_at_ms > ?';
    const found = this.#c.read(() => this.#c.get<row.SessionRow>(sql, id, Date.now()));
    return found && row.toSession(found);
  }

  deleteSession(id: string, events: readonly NewEvent[]): boolean {
    return this.#c.write((): boolean => {
      const removed = this.#c.run('DELETE FROM sessions WHERE id = ?', id).changes > 0;
      if (removed) this.#c.insertEvents(events);
      return removed;
    });
  }

  purgeExpiredSessions(): number {
    return this.#c.write(() => this.#c.run('DELETE FROM sessions WHERE expires_at_ms <= ?', Date.now()).changes);
  }

  getLoginLockout(name: string): LoginLockoutRecord | null {
    const sql = 'SELECT * FROM login_lockouts WHERE name = ? AND expires_at_ms > ?';
    const found = this.#c.read(() => this.#c.get<row.LockoutRow>(sql, name, Date.now()));
    return found && row.toLockout(found);
  }

  updateLoginLockout(
    name: string,
    update: LockoutUpdate,
    events?: EventsFor<LoginLockoutRecord | null>,
  ): LoginLockoutRecord | null {
    return this.#c.write((): LoginLockoutRecord | null => {
      // Expired records go here, as sessions do at a login: the table holds only names that still count.
      this.#c.run('DELETE FROM login_lockouts WHERE expires_at_ms <= ?', Date.now());
      const found = this.#c.get<row.LockoutRow>('SELECT * FROM login_lockouts WHERE name = ?', name);
      const proposed = update(found && row.toLockout(found));
      const next = proposed && rec.checkLockout(name, proposed);
      if (next === null) this.#c.run('DELETE FROM login_lockouts WHERE name = ?', name);
      else this.#c.run(UPSERT_LOCKOUT, name, JSON.stringify(next), Date.parse(next.expiresAt));
      this.#c.insertEvents(events?.(next) ?? []);
      return next;
    });
  }
}
