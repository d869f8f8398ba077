// Host checks for `hyperctl doctor`: each answers one question about what the daemon needs from this
// host, and says how to fix it when the answer is no. None of them changes anything.
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import path from 'node:path';
import { describeSpace, describeThreshold, diskFix, isLow, measureSpace } from '../common/disk-space.js';
import { octalMode } from '../common/file-modes.js';
import { tryListen } from '../common/listen-probe.js';
import type { Config, StoreConfig } from '../config/config.js';
import { writtenDirs } from '../config/disk.js';
import { checkStoreFile, damagedFix } from '../store/embedded-health.js';
import type { SystemdUserEnv } from '../units/systemctl.js';
import { isUserManagerReachable } from '../units/systemd-driver.js';
import { isLingering, lingerFix } from './linger.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
  fix: string | null;
}

const ok = (name: string, detail: string): Check => ({ name, status: 'ok', detail, fix: null });
const MiB = 1024 ** 2;
const STORE_TIMEOUT_MS = 5_000;

export async function checkUserManager(config: Config, env: SystemdUserEnv): Promise<Check> {
  if (config.units.driver === 'process') return ok('user manager', 'not needed: units.driver is process');
  if (await isUserManagerReachable(env)) return ok('user manager', `answers at ${env.XDG_RUNTIME_DIR}`);
  return {
    name: 'user manager',
    status: 'fail',
    detail: `no systemd user manager answers at ${env.XDG_RUNTIME_DIR}, so no color can run`,
    fix: 'enable lingering (loginctl enable-linger USER) or log in to start one; or set units.driver: process',
  };
}

export async function checkLingering(config: Config, user: string): Promise<Check> {
  if (config.units.driver === 'process') return ok('lingering', 'not needed: units.driver is process');
  if (await isLingering(user)) return ok('lingering', `enabled for ${user}`);
  return { name: 'lingering', status: 'warn', detail: `not enabled for ${user}`, fix: lingerFix(user) };
}

/**
 * A port is fine when it is free, or held by whom it should be (`holder`, e.g. "the hypervisor"
 * for its own listeners while it runs, "blue (pid 42)" for a running color).
 */
export async function checkPort(name: string, host: string, port: number, holder: string | null): Promise<Check> {
  const label = `port ${name}`;
  const where = `${host}:${port}`;
  const error = await tryListen(host, port);
  if (error === null) return ok(label, `${where} is free`);
  if (error === 'EADDRINUSE' && holder) return ok(label, `${where} is held by ${holder}`);
  if (error === 'EADDRINUSE') {
    return {
      name: label,
      status: 'fail',
      detail: `${where} is in use by another process`,
      fix: `find it with \`ss -ltnp 'sport = :${port}'\` and stop it, or give ${name} another port in the config`,
    };
  }
  return {
    name: label,
    status: 'fail',
    detail: `cannot listen on ${where}: ${error}`,
    fix: `give ${name} a port this user may bind (1024 or above unless root), on an address of this host`,
  };
}

export async function checkStore(store: StoreConfig): Promise<Check> {
  return store.kind === 'embedded' ? checkEmbedded(store.path) : checkMongo(store.uri, store.database);
}

async function checkEmbedded(file: string): Promise<Check> {
  const info = await stat(file).catch(() => null);
  const target = info ? file : path.dirname(file);
  const writable = await access(target, constants.R_OK | constants.W_OK).then(
    () => true,
    () => false,
  );
  if (!writable) {
    return {
      name: 'store',
      status: 'fail',
      detail:
        `embedded store ${file}: ` +
        `${info ? 'not readable and writable' : 'its folder is missing or not writable'} by this user`,
      fix: `create ${path.dirname(file)} and give it to the daemon's user, or change store.path`,
    };
  }
  if (!info) return ok('store', `embedded ${file} does not exist yet; the daemon creates it at its first start`);
  // The same check the daemon runs at start: a damaged page shows here even while the daemon runs.
  const check = checkStoreFile(file);
  if (!check.ok)
    return { name: 'store', status: 'fail', detail: `embedded ${file}: ${check.detail}`, fix: damagedFix(file) };
  const loose = looseStoreMode(file, info.mode);
  if (loose) return loose;
  return ok('store', `embedded ${file} (${(info.size / MiB).toFixed(1)} MiB), readable and writable, ${check.detail}`);
}

/** Hashes and session ids: a store file others can read is a finding, though the daemon still runs. */
function looseStoreMode(file: string, mode: number): Check | null {
  if ((mode & 0o077) === 0) return null;
  return {
    name: 'store',
    status: 'warn',
    detail: `embedded ${file} has mode ${octalMode(mode)}: other local users can read its password hashes and sessions`,
    fix: `chmod 600 ${file} (the daemon narrows it itself at its next start)`,
  };
}

async function checkMongo(uri: string, database: string): Promise<Check> {
  const { MongoClient } = await import('mongodb');
  const client = new MongoClient(uri, {
    serverSelectionTimeoutMS: STORE_TIMEOUT_MS,
    connectTimeoutMS: STORE_TIMEOUT_MS,
    appName: 'hyperctl-doctor',
  });
  try {
    const hello = await client.db(database).command({ hello: 1 });
    if (typeof hello.setName === 'string' || hello.msg === 'isdbgrid')
      return ok('store', `mongodb database ${database} answers, with transactions`);
    return {
      name: 'store',
      status: 'warn',
      detail:
        `mongodb database ${database} answers, but a standalone server has no transactions: a ` +
        'change and its audit event are written one after the other',
      fix: 'run MongoDB as a replica set (one member is enough: --replSet rs0, then rs.initiate())',
    };
  } catch (err) {
    return {
      name: 'store',
      status: 'fail',
      detail: `mongodb at ${redact(uri)} does not answer: ${(err as Error).message}`,
      fix: 'start MongoDB or correct store.uri (and its credentials)',
    };
  } finally {
    await client.close().catch(() => undefined);
  }
}

/** A URI may carry a password: never print it. */
function redact(uri: string): string {
  return uri.replace(/\/\/[^@/]*@/, '//***@');
}

/**
 * Free space on every file system the daemon writes to, by the daemon's own rule (config `disk:`):
 * below it is a failure, as it is a problem in the daemon's status.
 */
export async function checkDisk(config: Config): Promise<Check> {
  const spaces = await measureSpace(writtenDirs(config));
  const low = spaces.filter((space) => isLow(space, config.disk));
  const threshold = `disk: ${describeThreshold(config.disk)}`;
  if (low.length === 0) return ok('disk', `${spaces.map(describeSpace).join('; ')} (low below ${threshold})`);
  return {
    name: 'disk',
    status: 'fail',
    detail: `${low.map(describeSpace).join('; ')}: below ${threshold}; builds, logs and the store may fail to write`,
    fix: diskFix(low[0]!.path),
  };
}
