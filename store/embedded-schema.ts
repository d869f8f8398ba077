// The embedded store's file: how it is opened and the tables in it. Kept apart from the queries so
// the schema (and its version) can be read at once.
import path from 'node:path';
import Database from 'better-sqlite3';
import { HypervisorError } from '../common/errors.js';
import { ensureDir, ensureFile, narrowMode, PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../common/file-modes.js';
import { guardWriteSync } from '../common/write-failure.js';
import { damagedError, isCorruption } from './embedded-health.js';

/**
 * Bumped with every change to SCHEMA that an older hypervisor cannot live with; kept in the file as
 * `PRAGMA user_version`. A new table is not such a change: the older version ignores it, so an
 * upgrade that goes back to the previous build still opens the file.
 */
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

-- The deployment ledger: one row per stretch of time a color served a tag. The columns are what
-- queries and the uniqueness of a move need; everything else (gates, verdict, ...) lives in doc, so
-- new fields need no migration. A new table (the older build's deployments table, a log of unit
-- actions, is left to it), so a file stays at version 1 and an older build still opens it.
CREATE TABLE IF NOT EXISTS deployment_ledger (
  id       INTEGER PRIMARY KEY,
  revision INTEGER NOT NULL,
  color    TEXT NOT NULL,
  tag      TEXT NOT NULL,
  ended_at TEXT,
  doc      TEXT NOT NULL CHECK (json_valid(doc)),
  UNIQUE (revision, color, tag)
) STRICT;
CREATE INDEX IF NOT EXISTS deployment_ledger_open ON deployment_ledger (ended_at) WHERE ended_at IS NULL;

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
-- The daily export of deliveries reads one day at a time (archive/daily.ts).
CREATE INDEX IF NOT EXISTS github_events_received ON github_events (received_at, delivery_id);

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

CREATE TABLE IF NOT EXISTS login_lockouts (
  name          TEXT NOT NULL PRIMARY KEY,
  doc           TEXT NOT NULL CHECK (json_valid(doc)),
  expires_at_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS login_lockouts_expires_at ON login_lockouts (expires_at_ms);

-- The notifier's outbox (notify/): one row per message to one target, its key unique so a message
-- is written once whichever host (or restart) tries again. New tables: the file stays at version 1.
CREATE TABLE IF NOT EXISTS notifications (
  id          INTEGER PRIMARY KEY,
  key         TEXT NOT NULL UNIQUE,
  target      TEXT NOT NULL,
  subject     TEXT,
  role        TEXT NOT NULL,
  state       TEXT NOT NULL,
  not_before  TEXT,
  lease_until TEXT,
  doc         TEXT NOT NULL CHECK (json_valid(doc))
) STRICT;
CREATE INDEX IF NOT EXISTS notifications_subject ON notifications (target, subject, id);
CREATE INDEX IF NOT EXISTS notifications_due ON notifications (target, state, id);

-- How far the notifier went through the event trail.
CREATE TABLE IF NOT EXISTS notify_cursor (
  name     TEXT NOT NULL PRIMARY KEY,
  event_id INTEGER NOT NULL
) STRICT;
-- What the log archive has uploaded or still must (archive/): a restart reads the pending ones.
-- A new table and new indexes: an older build ignores them, so the file stays at version 1.
CREATE TABLE IF NOT EXISTS archive_objects (
  name  TEXT NOT NULL PRIMARY KEY,
  kind  TEXT NOT NULL,
  state TEXT NOT NULL,
  doc   TEXT NOT NULL CHECK (json_valid(doc))
) STRICT;
CREATE INDEX IF NOT EXISTS archive_objects_state ON archive_objects (state, kind, name);
`;

/**
 * Opens (creating if needed) the database file, sets its journal and applies the schema. A file
 * that is no SQLite database, or whose schema cannot be read, throws StoreDamagedError naming it.
 */
export function openDatabase(file: string): Database.Database {
  if (file !== ':memory:') guardWriteSync(file, () => preparePrivateFile(path.resolve(file)));
  try {
    return openAndMigrate(file);
  } catch (err) {
    if (isCorruption(err)) throw damagedError(file, (err as Error).message, err);
    const code = (err as { code?: unknown }).code;
    // SQLITE_CANTOPEN, SQLITE_READONLY, ...: the file's place or permissions, said in one line.
    if (typeof code === 'string' && code.startsWith('SQLITE_'))
      throw new HypervisorError('store_open', `cannot open the store ${file}: ${(err as Error).message}`, {
        cause: err,
      });
    throw err;
  }
}

/**
 * The file holds password hashes and session ids: only its owner may read it. SQLite gives its
 * -wal and -shm files the mode of the database file, so creating that one 0600 first covers all
 * three; files an older version left 0644 are narrowed.
 */
function preparePrivateFile(file: string): void {
  ensureDir(path.dirname(file), PRIVATE_DIR_MODE);
  ensureFile(file, PRIVATE_FILE_MODE);
  for (const suffix of ['-wal', '-shm']) narrowMode(`${file}${suffix}`, PRIVATE_FILE_MODE);
}

function openAndMigrate(file: string): Database.Database {
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
