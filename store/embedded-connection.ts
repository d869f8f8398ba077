// The embedded store's one connection to its file, and the two ways through it: a read, and a write
// that is one IMMEDIATE transaction together with the events that describe it. A write meets a
// damaged file only to roll back and report it (StoreDamagedError); once the connection knows the
// file is damaged it refuses writes before starting them.
import type Database from 'better-sqlite3';
import { HypervisorError } from '../common/errors.js';
import type { EventRecord, NewEvent, StoreHealth } from '../common/types.js';
import { WriteFailedError, type WriteCause } from '../common/write-failure.js';
import { damagedError, damagedFix, isCorruption, quickCheck } from './embedded-health.js';
import { openDatabase } from './embedded-schema.js';
import { HealthState, type HealthListener } from './health.js';
import * as rec from './records.js';

export class SqliteConnection {
  readonly path: string;
  readonly #health: HealthState;
  #db: Database.Database | null = null;

  constructor(file: string) {
    this.path = file;
    this.#health = new HealthState(`${file} not opened yet`);
  }

  /** Opens the file and runs quick_check: a damaged file still opens (reads may serve), but refuses writes. */
  open(): void {
    if (this.#db) return;
    this.#db = openDatabase(this.path);
    const problems = this.#quickCheck();
    if (problems.length > 0) this.#damaged(`quick_check: ${problems.join('; ')}`);
    else this.#health.ok(`${this.path}: quick_check ok`);
  }

  close(): void {
    this.#db?.close();
    this.#db = null;
  }

  health(): StoreHealth {
    return this.#health.get();
  }

  onHealthChange(listener: HealthListener): () => void {
    return this.#health.onChange(listener);
  }

  read<T>(query: () => T): T {
    try {
      return query();
    } catch (err) {
      throw this.#classify(err);
    }
  }

  /** The write lock is taken before the first read, so no other process slips in between. */
  write<T>(change: () => T): T {
    const health = this.#health.get();
    if (health.state === 'damaged') throw damagedError(this.path, health.detail);
    try {
      return this.#conn.transaction(change).immediate();
    } catch (err) {
      throw this.#classify(err);
    }
  }

  get<T>(sql: string, ...params: unknown[]): T | null {
    return (this.#conn.prepare(sql).get(...params) as T | undefined) ?? null;
  }

  all<T>(sql: string, ...params: unknown[]): T[] {
    return this.#conn.prepare(sql).all(...params) as T[];
  }

  run(sql: string, ...params: unknown[]): Database.RunResult {
    return this.#conn.prepare(sql).run(...params);
  }

  /** Inside write() only, so the events share the transaction of the change they describe. */
  insertEvents(events: readonly NewEvent[]): EventRecord[] {
    return events.map((event) => {
      const draft = rec.newEventRecord(0, event, rec.nowIso());
      const result = this.run(
        'INSERT INTO events (time, reason, message, color, actor, data) VALUES (?, ?, ?, ?, ?, ?)',
        draft.time,
        draft.reason,
        draft.message,
        draft.color,
        draft.actor,
        draft.data && JSON.stringify(draft.data),
      );
      return { ...draft, id: Number(result.lastInsertRowid) };
    });
  }

  get #conn(): Database.Database {
    if (!this.#db) throw new HypervisorError('store_closed', `the store ${this.path} is not open: call init() first`);
    return this.#db;
  }

  /** A page too garbled for quick_check to walk makes it throw instead of report: a problem all the same. */
  #quickCheck(): string[] {
    try {
      return quickCheck(this.#conn);
    } catch (err) {
      if (isCorruption(err)) return [(err as Error).message];
      throw err;
    }
  }

  #damaged(detail: string): void {
    this.#health.damaged(`${this.path} is damaged (${detail})`, damagedFix(this.path));
  }

  /**
   * A corruption error becomes StoreDamagedError (and the store damaged); a disk that refuses the
   * write (full, failing, read-only) WriteFailedError naming the file; any other passes unchanged.
   */
  #classify(err: unknown): unknown {
    const refused = hostCause(err);
    if (refused !== null) return new WriteFailedError(this.path, refused, { cause: err });
    if (!isCorruption(err)) return err;
    this.#damaged((err as Error).message);
    return damagedError(this.path, (err as Error).message, err);
  }
}

/** SQLite's codes for a write the host refused, as the errno they stand for. */
function hostCause(err: unknown): WriteCause | null {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return null;
  if (code === 'SQLITE_FULL') return 'ENOSPC';
  if (code.startsWith('SQLITE_IOERR')) return 'EIO';
  if (code.startsWith('SQLITE_READONLY') || code === 'SQLITE_CANTOPEN' || code === 'SQLITE_PERM') return 'EACCES';
  return null;
}
