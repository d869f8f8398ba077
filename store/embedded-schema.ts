// The embedded store's file: how it is opened and the tables in it. Kept apart from the queries so
// the schema (and its version) can be read at once.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { HypervisorError } from '../common/errors.js';

/** Bumped with every change to SCHEMA; kept in the file as `PRAGMA user_version`. */
export const SCHEMA_VERSION = 1;

/** How long a writer waits for another process's write lock before SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 5000;

// STRICT tables make SQLite refuse a value of the wrong type instead of storing it silently.
// Documents are JSON text; the columns a query filters or sorts on are real columns.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS desired (
  number INTEGER PRIMARY KEY,
  doc    TEXT NOT NULL CHECK (json_valid(doc)),
  source TEXT NOT NULL,
  author TEXT NOT NULL,
  time   TEXT NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS releases (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  tag TEXT NOT NULL UNIQUE,
  doc TEXT NOT NULL CHECK (json_valid(doc))
) STRICT;

CREATE TABLE IF NOT EXISTS deployments (
  id    INTEGER PRIMARY KEY AUTOINCREMENT,
  kind  TEXT NOT NULL,
  color TEXT NOT NULL,
  tag   TEXT,
  time  TEXT NOT NULL,
  actor TEXT NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS events (
  id      INTEGER PRIMARY KEY AUTOINCREMENT,
  time    TEXT NOT NULL,
  reason  TEXT NOT NULL,
  message TEXT NOT NULL,
  color   TEXT,
  actor   TEXT NOT NULL,
  data    TEXT CHECK (data IS NULL OR json_valid(data))
) STRICT;

CREATE TABLE IF NOT EXISTS github_events (
  delivery_id TEXT NOT NULL PRIMARY KEY,
  event       TEXT NOT NULL,
  payload     TEXT NOT NULL,
  received_at TEXT NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS hyperusers (
  username      TEXT NOT NULL PRIMARY KEY,
  password_hash TEXT NOT NULL,
  roles         TEXT NOT NULL CHECK (json_valid(roles)),
  created_at    TEXT NOT NULL,
  updated_at    TEXT NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS sessions (
  id            TEXT NOT NULL PRIMARY KEY,
  username      TEXT NOT NULL,
  created_at    TEXT NOT NULL,
  expires_at_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS sessions_expires_at ON sessions (expires_at_ms);
`;

/** Opens (creating if needed) the database file, sets its journal and applies the schema. */
export function openDatabase(file: string): Database.Database {
  if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const db = new Database(file, { timeout: BUSY_TIMEOUT_MS });
  try {
    // busy_timeout first: switching to WAL needs the lock another process may hold.
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // WAL lets readers (API, CLI) go on while the reconciler writes; NORMAL is durable in WAL
    // except for the last commits on power loss, which a level-triggered loop recovers from.
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    applySchema(db, file);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

function applySchema(db: Database.Database, file: string): void {
  // IMMEDIATE: two daemons starting on one file apply the schema one after the other.
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new HypervisorError(
        'store_version',
        `${file} has schema version ${version}, newer than this hypervisor's ${SCHEMA_VERSION}: upgrade the hypervisor`,
      );
    }
    db.exec(SCHEMA);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}
