// A real, isolated `systemd --user` for tests: fresh runtime/config/home folders, its own private
// socket, nothing shared with any other manager on the host. systemd refuses to start unless
// /run/systemd/system exists, so that folder exists only while a manager boots (leaving it breaks
// apt), under a cross-process lock so two test runs on one host do not pull it from under each other.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Systemctl, type SystemdUserEnv } from '../../units/systemctl.js';

export interface UserManager {
  env: SystemdUserEnv;
  pid: number;
  stop(): Promise<void>;
  /**
   * A host reboot as the user manager sees it: the manager shuts down (stopping every unit) and a
   * new one boots on the same folders, starting the enabled units again. Updates `pid`.
   */
  reboot(): Promise<void>;
}

const SYSTEMD = '/lib/systemd/systemd';
const BOOT_MARKER = '/run/systemd/system';
const BOOT_LOCK = path.join(tmpdir(), 'openhack-systemd-boot.lock');
const BOOT_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;

/** Managers started by this process: killed synchronously if the process exits without stop(). */
const live = new Set<Running>();

interface Running {
  pid: number;
  root: string;
  env: SystemdUserEnv;
}

export async function startUserManager(): Promise<UserManager> {
  const root = await mkdtemp(path.join(tmpdir(), 'hv-systemd-'));
  const env = { XDG_RUNTIME_DIR: path.join(root, 'runtime'), XDG_CONFIG_HOME: path.join(root, 'config') };
  await mkdir(env.XDG_RUNTIME_DIR, { mode: 0o700 });
  await mkdir(path.join(env.XDG_CONFIG_HOME, 'systemd', 'user'), { recursive: true });
  await mkdir(path.join(root, 'home'));
  let running: Running | null = null;
  try {
    running = await withBootMarker(async () => {
      const pid = await spawnManager(root, env);
      const r = { pid, root, env };
      live.add(r);
      await waitUntilUp(r);
      return r;
    });
  } catch (err) {
    if (running === null) for (const r of live) if (r.root === root) stopSync(r);
    await rm(root, { recursive: true, force: true });
    throw err;
  }
  const r = running;
  const handle: UserManager = {
    env,
    pid: r.pid,
    stop: () => stopManager(r),
    reboot: async () => {
      await shutDown(r);
      r.pid = await withBootMarker(async () => {
        const pid = await spawnManager(root, env);
        await waitUntilUp({ ...r, pid });
        return pid;
      });
      handle.pid = r.pid;
    },
  };
  return handle;
}

/** SIGTERM makes systemd --user stop its units and exit, as at a shutdown; leftovers get SIGKILL. */
async function shutDown(r: Running): Promise<void> {
  const descendants = descendantsOf(r.pid);
  killAll([r.pid]);
  if (!(await exitsWithin(r.pid, STOP_TIMEOUT_MS))) killAll([r.pid], 'SIGKILL');
  await exitsWithin(r.pid, STOP_TIMEOUT_MS);
  killAll(descendants.filter(alive), 'SIGKILL');
}

async function spawnManager(root: string, env: SystemdUserEnv): Promise<number> {
  const log = await open(path.join(root, 'manager.log'), 'a');
  try {
    const child = spawn(SYSTEMD, ['--user'], {
      detached: true, // its own session: a ^C on the test terminal is handled by our exit hook
      stdio: ['ignore', log.fd, log.fd],
      env: {
        PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
        HOME: path.join(root, 'home'),
        XDG_DATA_HOME: path.join(root, 'home', '.local', 'share'),
        XDG_STATE_HOME: path.join(root, 'home', '.local', 'state'),
        ...env,
      },
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    child.unref();
    return child.pid!;
  } finally {
    await log.close();
  }
}

/** Up means: private socket present and the manager has finished booting (running or degraded). */
async function waitUntilUp(r: Running): Promise<void> {
  const deadline = AbortSignal.timeout(BOOT_TIMEOUT_MS);
  const systemctl = new Systemctl({ env: r.env, timeoutMs: 5_000 });
  let last = 'no answer';
  while (!deadline.aborted) {
    if (!alive(r.pid)) throw new Error(`systemd --user exited while booting: ${tail(r.root)}`);
    if (existsSync(path.join(r.env.XDG_RUNTIME_DIR, 'systemd', 'private'))) {
      last = (await systemctl.run(['is-system-running']).catch((err: Error) => err.message)).trim();
      if (last === 'running' || last === 'degraded') return;
    }
    await delay(50); // the poll interval of a wait with a deadline (systemd has no event we can await)
  }
  throw new Error(`systemd --user did not come up within ${BOOT_TIMEOUT_MS}ms (last: ${last}): ${tail(r.root)}`);
}

/** Creates /run/systemd/system for the duration of `boot`, and removes it again even on failure. */
async function withBootMarker<T>(boot: () => Promise<T>): Promise<T> {
  await acquireLock();
  // Someone outside our lock may be booting a manager right now: only remove what we created.
  const created = !existsSync(BOOT_MARKER);
  try {
    if (created) mkdirSync(BOOT_MARKER, { recursive: true });
    return await boot();
  } finally {
    if (created) rmSync(BOOT_MARKER, { recursive: true, force: true });
    releaseLock();
  }
}

/** A lock folder holding the owner's pid; a lock whose owner is dead is taken over. */
async function acquireLock(): Promise<void> {
  const deadline = AbortSignal.timeout(BOOT_TIMEOUT_MS);
  while (!deadline.aborted) {
    try {
      mkdirSync(BOOT_LOCK);
      mkdirSync(path.join(BOOT_LOCK, String(process.pid)));
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(readdirSync(BOOT_LOCK, { withFileTypes: false })[0] ?? NaN);
      if (Number.isInteger(owner) && !alive(owner)) rmSync(BOOT_LOCK, { recursive: true, force: true });
      await delay(50); // the poll interval of a wait for another process's lock, with a deadline
    }
  }
  throw new Error(`could not take ${BOOT_LOCK} within ${BOOT_TIMEOUT_MS}ms`);
}

function releaseLock(): void {
  rmSync(BOOT_LOCK, { recursive: true, force: true });
}

/** Stops every unit, then the manager (SIGTERM, SIGKILL after a deadline), then removes its folders. */
async function stopManager(r: Running): Promise<void> {
  if (!live.has(r)) return;
  const descendants = descendantsOf(r.pid);
  await new Systemctl({ env: r.env, timeoutMs: STOP_TIMEOUT_MS }).run(['stop', '*.service']).catch(() => undefined);
  killAll([r.pid]);
  if (!(await exitsWithin(r.pid, STOP_TIMEOUT_MS))) {
    killAll([r.pid, ...descendants], 'SIGKILL');
    await exitsWithin(r.pid, STOP_TIMEOUT_MS);
  }
  killAll(descendants.filter(alive), 'SIGKILL'); // anything a unit left behind outside its cgroup
  live.delete(r);
  await rm(r.root, { recursive: true, force: true });
}

/** The synchronous last resort for process exit: no await is possible there. */
function stopSync(r: Running): void {
  const descendants = descendantsOf(r.pid);
  try {
    execFileSync('systemctl', ['--user', 'stop', '*.service'], {
      env: { PATH: process.env.PATH, LC_ALL: 'C', ...r.env },
      timeout: STOP_TIMEOUT_MS,
      stdio: 'ignore',
    });
  } catch {
    // the manager may already be gone; the signals below still apply
  }
  killAll([r.pid]);
  const until = Date.now() + STOP_TIMEOUT_MS;
  while (alive(r.pid) && Date.now() < until) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  killAll([r.pid, ...descendants].filter(alive), 'SIGKILL');
  live.delete(r);
  rmSync(r.root, { recursive: true, force: true });
}

async function exitsWithin(pid: number, ms: number): Promise<boolean> {
  const deadline = AbortSignal.timeout(ms);
  while (!deadline.aborted) {
    if (!alive(pid)) return true;
    await delay(20); // the poll interval of a wait for a pid that is not our child, with a deadline
  }
  return !alive(pid);
}

function killAll(pids: number[], signal: NodeJS.Signals = 'SIGTERM'): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** Alive and not a zombie (our own exited children stay zombies until Node reaps them). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

function descendantsOf(root: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      // exited while we looked
    }
  }
  const found: number[] = [];
  const walk = (pid: number): void => {
    for (const child of parents.get(pid) ?? []) {
      found.push(child);
      walk(child);
    }
  };
  walk(root);
  return found;
}

function tail(root: string): string {
  try {
    return (
      readFileSync(path.join(root, 'manager.log'), 'utf8').split('\n').slice(-10).join('\n') || '(empty manager.log)'
    );
  } catch {
    return '(no manager.log)';
  }
}

// ---- one manager shared by every test file of a run ----

/** A handle on the shared manager; call release() once, in the after() hook of the file. */
export interface SharedUserManager {
  env: SystemdUserEnv;
  pid: number;
  release(): Promise<void>;
}

let shared: { manager: Promise<UserManager>; refs: number; linger: NodeJS.Timeout | null } | null = null;

/**
 * A manager shared by the test files of one mocha run. The last release() stops it after
 * `lingerMs`, so the next file can pick it up without a new boot; whatever still runs when the
 * process exits is stopped synchronously by the exit hook below.
 */
export async function sharedUserManager(lingerMs = 1_000): Promise<SharedUserManager> {
  if (!shared) {
    const manager = startUserManager();
    shared = { manager, refs: 0, linger: null };
    manager.catch(() => (shared = null));
  }
  const s = shared;
  s.refs += 1;
  if (s.linger) clearTimeout(s.linger);
  s.linger = null;
  let released = false;
  const release = async (): Promise<void> => {
    if (released) return;
    released = true;
    s.refs -= 1;
    if (s.refs > 0) return;
    // Not a wait: how long an unused manager is kept for the next file (root-hooks.ts stops it at the end).
    s.linger = setTimeout(() => {
      if (shared === s) shared = null;
      void s.manager.then((m) => m.stop()).catch(() => undefined);
    }, lingerMs);
    s.linger.unref();
  };
  const manager = await s.manager.catch((err: unknown) => {
    s.refs -= 1;
    throw err;
  });
  return { env: manager.env, pid: manager.pid, release };
}

/** Stops the shared manager now, without its linger: the run's global teardown (root-hooks.ts). */
export async function stopSharedUserManager(): Promise<void> {
  const s = shared;
  if (!s) return;
  shared = null;
  if (s.linger) clearTimeout(s.linger);
  await s.manager.then((m) => m.stop()).catch(() => undefined);
}

process.on('exit', () => {
  for (const r of [...live]) stopSync(r);
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const r of [...live]) stopSync(r);
    // Re-raise only when nobody else (mocha) handles it, so the default "terminate" still happens.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  });
}
