// Spawning and watching one backend process for the `process` driver. A process is watched either
// as our own child (exit event with code and signal) or, after a daemon restart, by pid alone
// (polling /proc, since only a parent learns how a process ended).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, open } from 'node:fs/promises';
import { LOG_DIR_MODE, LOG_FILE_MODE } from '../common/file-modes.js';
import { runsCommand } from '../common/proc-table.js';
import { guardWrite } from '../common/write-failure.js';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { type UnitSpec } from './driver.js';
import { backendArgs } from './unit-file.js';

export interface ExitInfo {
  /** Like systemd's Restart=on-failure: exit 0 or a termination signal is clean, anything else is a failure. */
  clean: boolean;
  description: string;
}

export interface WatchedProcess {
  pid: number;
  /** `[executable, ...args]`: what /proc/<pid>/cmdline must end with for the pid to be ours. */
  argv: string[];
  /** Settles once, when the process is gone. */
  exited: Promise<ExitInfo>;
  /** Stops watching (polling); the process keeps running. */
  release(): void;
}

const CLEAN_SIGNALS = new Set(['SIGHUP', 'SIGINT', 'SIGTERM', 'SIGPIPE']);

export function backendArgv(spec: UnitSpec): string[] {
  return [spec.executable, ...backendArgs(spec)];
}

/**
 * Starts the backend detached (its own session and process group, so it outlives this daemon and
 * can be signalled as a group), output appended to its log file. Rejects when it cannot be spawned.
 */
export async function spawnBackend(spec: UnitSpec): Promise<WatchedProcess> {
  const log = await guardWrite(spec.logFile, async () => {
    await mkdir(path.dirname(spec.logFile), { recursive: true, mode: LOG_DIR_MODE });
    return open(spec.logFile, 'a', LOG_FILE_MODE);
  });
  try {
    const argv = backendArgv(spec);
    const child = spawn(spec.executable, argv.slice(1), {
      cwd: path.dirname(spec.executable),
      detached: true,
      stdio: ['ignore', log.fd, log.fd],
      env: backendEnv(),
    });
    child.on('error', () => undefined); // a late error (e.g. a failed kill) must not crash the daemon
    const watched = watchChild(child, argv); // listen for exit before anything can be missed
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    child.unref(); // a supervised backend never keeps the daemon's event loop alive
    return watched;
  } finally {
    await log.close();
  }
}

/** Like a systemd unit, the backend gets a small fixed environment, not the daemon's. */
function backendEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin' };
  for (const key of ['HOME', 'LANG', 'TZ'] as const) if (process.env[key] !== undefined) env[key] = process.env[key];
  return env;
}

function watchChild(child: ChildProcess, argv: string[]): WatchedProcess {
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => {
      const clean = code === 0 || (signal !== null && CLEAN_SIGNALS.has(signal));
      resolve({ clean, description: signal ? `killed by ${signal}` : `exited with ${code}` });
    });
  });
  return { pid: child.pid ?? -1, argv, exited, release: () => undefined };
}

/** Watches a process that is not our child by polling: gone, a zombie, or a reused pid all mean exited. */
export function watchPid(pid: number, argv: string[], pollIntervalMs: number): WatchedProcess {
  const stop = new AbortController();
  const exited = (async (): Promise<ExitInfo> => {
    while (await runsCommand(pid, argv)) {
      await delay(pollIntervalMs, undefined, { signal: stop.signal, ref: false });
    }
    return { clean: false, description: 'exited (status unknown: not our child)' };
  })();
  exited.catch(() => undefined); // released watchers reject with AbortError; nobody waits for them
  return { pid, argv, exited, release: () => stop.abort() };
}

/** Signals the process group (the backend and whatever it forked); falls back to the pid alone. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, signal);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }
}

/** True when `promise` settles within `ms`. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const timer = new AbortController();
  const timeout = delay(ms, false, { signal: timer.signal }).catch(() => false);
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      timeout,
    ]);
  } finally {
    timer.abort();
  }
}
