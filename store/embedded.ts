// The default store: one SQLite file (better-sqlite3), zero setup. Calls are synchronous under the
// hood, so within one process every method runs to its end before the next starts; across processes
// (daemon + hyperctl on one file) the write transactions are IMMEDIATE and uniqueness comes from keys.
import type Database from 'better-sqlite3';
import { DuplicateKeyError, HypervisorError, NotFoundError, ValidationError } from '../common/errors.js';
import type {
  Color,
  DeploymentKind,
  DeploymentRecord,
  DesiredDoc,
  EventRecord,
  GithubDelivery,
  Hyperuser,
  NewEvent,
  ReleaseRecord,
  Revision,
  Role,
  Session,
} from '../common/types.js';
import { openDatabase } from './embedded-schema.js';
import * as rec from './records.js';
import type { NewRevision, ReleasePatch, Store } from './store.js';

export interface EmbeddedStoreOptions {
  /** The database file (its folder is created), or `:memory:` for a store that lives as long as the object. */
  path: string;
}

interface RevisionRow {
  number: number;
  doc: string;
  source: string;
  author: string;
  time: string;
}
interface EventRow {
  id: number;
  time: string;
  reason: string;
  message: string;
  color: Color | null;
  actor: string;
  data: string | null;
}
interface DeploymentRow {
  id: number;
  kind: DeploymentKind;
  color: Color;
  tag: string | null;
  time: string;
  actor: string;
}
interface DeliveryRow {
  delivery_id: string;
  event: string;
  payload: string;
  received_at: string;
}
interface UserRow {
  username: string;
  password_hash: string;
  roles: string;
  created_at: string;
  updated_at: string;
}
interface SessionRow {
  id: string;
  username: string;
  created_at: string;
  expires_at_ms: number;
}

function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

const toRevision = (r: RevisionRow): Revision => rec.copyRevision({ ...r, doc: JSON.parse(r.doc) as DesiredDoc });
const toEvent = (r: EventRow): EventRecord =>
  rec.copyEvent({ ...r, data: r.data === null ? null : (JSON.parse(r.data) as Record<string, unknown>) });
const toDelivery = (r: DeliveryRow): GithubDelivery => ({
  deliveryId: r.delivery_id,
  event: r.event,
  payload: r.payload,
  receivedAt: r.received_at,
});
const toUser = (r: UserRow): Hyperuser => ({
  username: r.username,
  passwordHash: r.password_hash,
  roles: JSON.parse(r.roles) as Role[],
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});
const toSession = (r: SessionRow): Session => ({
  id: r.id,
  username: r.username,
  createdAt: r.created_at,
  expiresAt: new Date(r.expires_at_ms).toISOString(),
});

export class EmbeddedStore implements Store {
  readonly kind = 'embedded' as const;
  readonly #path: string;
  #db: Database.Database | null = null;

  constructor(options: EmbeddedStoreOptions) {
    if (typeof options.path !== 'string' || options.path.trim() === '') {
      throw new ValidationError('store.path', `must be a file path or ":memory:", got ${JSON.stringify(options.path)}`);
    }
    this.#path = options.path;
  }

  async init(): Promise<void> {
    this.#db ??= openDatabase(this.#path);
  }

  async close(): Promise<void> {
    this.#db?.close();
    this.#db = null;
  }

  get #conn(): Database.Database {
    if (!this.#db) throw new HypervisorError('store_closed', `the store ${this.#path} is not open: call init() first`);
    return this.#db;
  }

  #get<T>(sql: string, ...params: unknown[]): T | null {
    return (this.#conn.prepare(sql).get(...params) as T | undefined) ?? null;
  }

  #all<T>(sql: string, ...params: unknown[]): T[] {
    return this.#conn.prepare(sql).all(...params) as T[];
  }

  #run(sql: string, ...params: unknown[]): Database.RunResult {
    return this.#conn.prepare(sql).run(...params);
  }

  // desired

  async latestRevision(): Promise<Revision | null> {
    const row = this.#get<RevisionRow>('SELECT * FROM desired ORDER BY number DESC LIMIT 1');
    return row && toRevision(row);
  }

  async appendRevision(input: NewRevision): Promise<Revision> {
    rec.checkExpected(input.expected);
    // IMMEDIATE takes the write lock before reading, so no other process can take latest+1 in between.
    return this.#conn
      .transaction((): Revision => {
        const latest = this.#get<{ n: number }>('SELECT COALESCE(MAX(number), 0) AS n FROM desired')!.n;
        if (input.expected !== undefined && input.expected !== latest) throw rec.staleRevision(input.expected, latest);
        const revision = rec.copyRevision({ ...input, number: latest + 1, time: rec.nowIso() });
        this.#run(
          'INSERT INTO desired (number, doc, source, author, time) VALUES (?, ?, ?, ?, ?)',
          revision.number,
          JSON.stringify(revision.doc),
          revision.source,
          revision.author,
          revision.time,
        );
        return revision;
      })
      .immediate();
  }

  async getRevision(number: number): Promise<Revision | null> {
    const row = this.#get<RevisionRow>('SELECT * FROM desired WHERE number = ?', number);
    return row && toRevision(row);
  }

  async listRevisions(limit: number): Promise<Revision[]> {
    return this.#all<RevisionRow>('SELECT * FROM desired ORDER BY number DESC LIMIT ?', rec.checkLimit(limit)).map(
      toRevision,
    );
  }

  // releases

  async getRelease(tag: string): Promise<ReleaseRecord | null> {
    const row = this.#get<{ doc: string }>('SELECT doc FROM releases WHERE tag = ?', tag);
    return row && rec.copyRelease(JSON.parse(row.doc) as ReleaseRecord);
  }

  async createRelease(record: Omit<ReleaseRecord, 'createdAt' | 'updatedAt'>): Promise<ReleaseRecord> {
    const release = rec.newRelease(record, rec.nowIso());
    try {
      this.#run('INSERT INTO releases (tag, doc) VALUES (?, ?)', release.tag, JSON.stringify(release));
    } catch (err) {
      if (isUniqueViolation(err)) throw new DuplicateKeyError('tag', `release ${release.tag} already exists`);
      throw err;
    }
    return release;
  }

  async updateRelease(tag: string, patch: ReleasePatch): Promise<ReleaseRecord> {
    return this.#conn
      .transaction((): ReleaseRecord => {
        const row = this.#get<{ doc: string }>('SELECT doc FROM releases WHERE tag = ?', tag);
        if (!row) throw new NotFoundError(`release ${tag} does not exist`);
        const current = JSON.parse(row.doc) as ReleaseRecord;
        const next = rec.copyRelease({ ...current, ...rec.releasePatchFields(patch), updatedAt: rec.nowIso() });
        this.#run('UPDATE releases SET doc = ? WHERE tag = ?', JSON.stringify(next), tag);
        return next;
      })
      .immediate();
  }

  async listReleases(limit: number): Promise<ReleaseRecord[]> {
    const rows = this.#all<{ doc: string }>(
      'SELECT doc FROM releases ORDER BY seq DESC LIMIT ?',
      rec.checkLimit(limit),
    );
    return rows.map((row) => rec.copyRelease(JSON.parse(row.doc) as ReleaseRecord));
  }

  async deleteRelease(tag: string): Promise<void> {
    this.#run('DELETE FROM releases WHERE tag = ?', tag);
  }

  // deployments

  async recordDeployment(record: Omit<DeploymentRecord, 'id' | 'time'>): Promise<DeploymentRecord> {
    const time = rec.nowIso();
    const result = this.#run(
      'INSERT INTO deployments (kind, color, tag, time, actor) VALUES (?, ?, ?, ?, ?)',
      record.kind,
      record.color,
      record.tag ?? null,
      time,
      record.actor,
    );
    return rec.copyDeployment({ ...record, id: Number(result.lastInsertRowid), time });
  }

  async listDeployments(limit: number): Promise<DeploymentRecord[]> {
    return this.#all<DeploymentRow>('SELECT * FROM deployments ORDER BY id DESC LIMIT ?', rec.checkLimit(limit)).map(
      rec.copyDeployment,
    );
  }

  // events

  async appendEvent(event: NewEvent): Promise<EventRecord> {
    // The insert runs synchronously inside the call, so ids follow the order of the calls.
    const draft = rec.newEventRecord(0, event, rec.nowIso());
    const result = this.#run(
      'INSERT INTO events (time, reason, message, color, actor, data) VALUES (?, ?, ?, ?, ?, ?)',
      draft.time,
      draft.reason,
      draft.message,
      draft.color,
      draft.actor,
      draft.data && JSON.stringify(draft.data),
    );
    return { ...draft, id: Number(result.lastInsertRowid) };
  }

  async listEventsAfter(afterId: number, limit: number): Promise<EventRecord[]> {
    return this.#all<EventRow>(
      'SELECT * FROM events WHERE id > ? ORDER BY id ASC LIMIT ?',
      rec.checkAfterId(afterId),
      rec.checkLimit(limit),
    ).map(toEvent);
  }

  async listRecentEvents(limit: number): Promise<EventRecord[]> {
    return this.#all<EventRow>(
      'SELECT * FROM (SELECT * FROM events ORDER BY id DESC LIMIT ?) ORDER BY id ASC',
      rec.checkLimit(limit),
    ).map(toEvent);
  }

  // github_events

  async insertGithubDelivery(delivery: GithubDelivery): Promise<{ duplicate: boolean }> {
    // The primary key decides: the copy that inserts is the original, every other one changes nothing.
    const result = this.#run(
      'INSERT OR IGNORE INTO github_events (delivery_id, event, payload, received_at) VALUES (?, ?, ?, ?)',
      delivery.deliveryId,
      delivery.event,
      delivery.payload,
      delivery.receivedAt,
    );
    return { duplicate: result.changes === 0 };
  }

  async getGithubDelivery(deliveryId: string): Promise<GithubDelivery | null> {
    const row = this.#get<DeliveryRow>('SELECT * FROM github_events WHERE delivery_id = ?', deliveryId);
    return row && toDelivery(row);
  }

  // hyperusers

  async getUser(username: string): Promise<Hyperuser | null> {
    const row = this.#get<UserRow>('SELECT * FROM hyperusers WHERE username = ?', username);
    return row && toUser(row);
  }

  async createUser(user: Omit<Hyperuser, 'createdAt' | 'updatedAt'>): Promise<Hyperuser> {
    const time = rec.nowIso();
    const created = rec.copyUser({ ...user, createdAt: time, updatedAt: time });
    try {
      this.#run(
        'INSERT INTO hyperusers (username, password_hash, roles, created_at, updated_at) VALUES (?, ?, ?, ?, ?)',
        created.username,
        created.passwordHash,
        JSON.stringify(created.roles),
        time,
        time,
      );
    } catch (err) {
      if (isUniqueViolation(err)) throw new DuplicateKeyError('username', `user ${created.username} already exists`);
      throw err;
    }
    return created;
  }

  async updateUser(username: string, patch: rec.UserPatch): Promise<Hyperuser> {
    return this.#conn
      .transaction((): Hyperuser => {
        const row = this.#get<UserRow>('SELECT * FROM hyperusers WHERE username = ?', username);
        if (!row) throw new NotFoundError(`user ${username} does not exist`);
        const next = rec.copyUser({ ...toUser(row), ...rec.userPatchFields(patch), updatedAt: rec.nowIso() });
        this.#run(
          'UPDATE hyperusers SET password_hash = ?, roles = ?, updated_at = ? WHERE username = ?',
          next.passwordHash,
          JSON.stringify(next.roles),
          next.updatedAt,
          username,
        );
        return next;
      })
      .immediate();
  }

  async deleteUser(username: string): Promise<boolean> {
    return this.#run('DELETE FROM hyperusers WHERE username = ?', username).changes > 0;
  }

  async listUsers(): Promise<Hyperuser[]> {
    return this.#all<UserRow>('SELECT * FROM hyperusers ORDER BY username ASC').map(toUser);
  }

  // sessions

  async createSession(session: Session): Promise<void> {
    const expiresAtMs = rec.expiryMs(session);
    try {
      this.#run(
        'INSERT INTO sessions (id, username, created_at, expires_at_ms) VALUES (?, ?, ?, ?)',
        session.id,
        session.username,
        session.createdAt,
        expiresAtMs,
      );
    } catch (err) {
      if (isUniqueViolation(err)) throw new DuplicateKeyError('id', 'a session with this id already exists');
      throw err;
    }
  }

  async getSession(id: string): Promise<Session | null> {
    // Filtered by expiry here, not only by the purge: an expired session must never authenticate.
    const row = this.#get<SessionRow>('SELECT * FROM sessions WHERE id = ? AND expires_at_ms > ?', id, Date.now());
    return row && toSession(row);
  }

  async deleteSession(id: string): Promise<boolean> {
    return this.#run('DELETE FROM sessions WHERE id = ?', id).changes > 0;
  }

  async purgeExpiredSessions(): Promise<number> {
    return this.#run('DELETE FROM sessions WHERE expires_at_ms <= ?', Date.now()).changes;
  }
}
