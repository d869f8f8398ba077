// Integrity of the embedded store's file: SQLite's quick_check (structure of every page, without
// the slower index-versus-table cross check of integrity_check), and which SQLite errors mean the
// file itself is damaged rather than a query being wrong.
import Database from 'better-sqlite3';
import { StoreDamagedError } from '../common/errors.js';

/** What an operator does about a damaged store; every message about one ends with it. */
export function damagedFix(file: string): string {
  return (
    `stop the daemon, then restore the last good backup into ${file} with hyperctl restore ` +
    'BACKUP (hyperctl backup makes them)'
  );
}

/** SQLITE_CORRUPT (and its extended codes) and SQLITE_NOTADB: the file, not the statement, is at fault. */
export function isCorruption(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB');
}

/** The first few problems quick_check finds; empty when the file is sound. */
export function quickCheck(db: Database.Database, limit = 5): string[] {
  const rows = db.pragma(`quick_check(${limit})`) as Array<{ quick_check: string }>;
  const problems = rows.map((row) => row.quick_check);
  return problems.length === 1 && problems[0] === 'ok' ? [] : problems;
}

export function damagedError(file: string, detail: string, cause?: unknown): StoreDamagedError {
  return new StoreDamagedError(`the store ${file} is damaged (${detail})`, damagedFix(file), { cause });
}

export type FileCheck = { ok: true; detail: string; version: number } | { ok: false; detail: string };

/**
 * Opens `file` read-only (beside a running daemon too: WAL lets readers in) and runs quick_check.
 * Never writes to it and never creates it.
 */
export function checkStoreFile(file: string): FileCheck {
  let db: Database.Database | null = null;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const problems = quickCheck(db);
    if (problems.length > 0) return { ok: false, detail: `quick_check: ${problems.join('; ')}` };
    const version = db.pragma('user_version', { simple: true }) as number;
    return { ok: true, detail: `quick_check ok, schema version ${version}`, version };
  } catch (err) {
    return { ok: false, detail: (err as Error).message };
  } finally {
    db?.close();
  }
}
