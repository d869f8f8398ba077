// What `npm start` and `npm stop` do around the daemon (bin/demo.js writes the demo's repo and
// config). The demo runs the daemon as its child: its output goes to the terminal and to
// `<root>/logs/hypervisor.log`, where `hyperctl logs` reads it as for a daemon installed by setup.
// A pid file lets `npm stop` find the demo; before starting, the demo makes sure no other demo runs
// from its folder and that its ports are free, and says what to do when they are not.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tryListen } from '../common/listen-probe.js';
import { COLORS } from '../common/types.js';
import { isNotFound } from '../common/unit-state.js';
import { loadConfig } from '../config/config.js';
import { runsCommand } from '../common/proc-table.js';
import { settlesWithin, watchPid } from '../units/process-watch.js';
import { makeDriver } from './host-drivers.js';
import { LogCopy } from './log-copy.js';

/** The demo's own listeners; the colors' ports may well be held by the colors a previous run left. */
export interface DemoPorts {
  public: number;
  preview: number;
}

interface PidFile {
  pid: number;
  /** The demo's command line as /proc shows it: a reused pid does not match it. */
  argv: string[];
}

const STOP_DEADLINE_MS = 60_000;
const POLL_MS = 100;

const pidFileOf = (dir: string): string => path.join(dir, 'demo.pid');

/** Why the demo cannot start (another demo runs from `dir`, a port is taken), or null. */
export async function whyDemoCannotStart(dir: string, ports: DemoPorts): Promise<string | null> {
  const running = await runningDemo(dir);
  if (running !== null) return `already running from ${dir} (pid ${running.pid}); npm stop stops it and its colors`;
  for (const [name, port] of [
    ['public', ports.public],
    ['preview', ports.preview],
  ] as const) {
    const error = await tryListen('127.0.0.1', port);
    if (error === 'EADDRINUSE') {
      return (
        `port ${port} (${name}) is taken: another process listens there, perhaps a hypervisor that is still running ` +
        `(\`ss -ltnp 'sport = :${port}'\` shows which). Stop it, or start the demo on other ports: ` +
        `HYPERVISOR_DEMO_PORT=${ports.public + 10} ` +
        `HYPERVISOR_DEMO_PORTS=${ports.public + 11},${ports.public + 12},${ports.public + 13} npm start`
      );
    }
    if (error !== null) return `cannot listen on 127.0.0.1:${port} (${name}): ${error}`;
  }
  return null;
}

/**
 * Runs `hypervisor --config` as a child until it exits; SIGINT and SIGTERM are passed on. Resolves with its
 * exit code.
 */
export async function superviseDaemon(dir: string, entry: string, configPath: string): Promise<number> {
  const log = LogCopy.open(path.join(loadConfig(configPath).root, 'logs', 'hypervisor.log'));
  const argv = (await readFile('/proc/self/cmdline', 'utf8')).split('\0').filter(Boolean);
  await writeFile(pidFileOf(dir), `${JSON.stringify({ pid: process.pid, argv } satisfies PidFile)}\n`);
  const child = spawn(process.execPath, [entry, '--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (chunk: Buffer) => void (process.stdout.write(chunk), log.write(chunk)));
  child.stderr.on('data', (chunk: Buffer) => void (process.stderr.write(chunk), log.write(chunk)));
  // Ctrl-C reaches the daemon too (same process group); it stops once, however often it is told.
  const forward = (signal: NodeJS.Signals): void => void child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  try {
    return await new Promise<number>((resolve) => child.once('close', (code) => resolve(code ?? 1)));
  } finally {
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
    await rm(pidFileOf(dir), { force: true });
    log.close();
  }
}

/**
 * `npm stop`: stops the demo's daemon (it would start the colors again), then both colors, and
 * removes their units so that nothing of the demo comes back at the next login or boot. The
 * releases built so far stay in `dir` for the next `npm start`.
 */
export async function stopDemo(dir: string, say: (line: string) => void): Promise<void> {
  const configPath = path.join(dir, 'hypervisor.yaml');
  if (!existsSync(configPath)) return say(`no demo in ${dir}: nothing to stop`);
  const running = await runningDemo(dir);
  if (running === null) say('the daemon was not running');
  else {
    process.kill(running.pid, 'SIGTERM');
    const watch = watchPid(running.pid, running.argv, POLL_MS);
    if (!(await settlesWithin(watch.exited, STOP_DEADLINE_MS))) {
      watch.release();
      throw new Error(`the demo (pid ${running.pid}) did not stop within ${STOP_DEADLINE_MS / 1000} s`);
    }
    say(`stopped the daemon (pid ${running.pid})`);
  }
  const driver = await makeDriver(loadConfig(configPath));
  try {
    for (const color of COLORS) {
      const seen = await driver.observe(color);
      if (isNotFound(seen)) {
        say(`${color} had no unit`);
        continue;
      }
      await driver.uninstall(color);
      say(`stopped ${color}${seen.mainPid ? ` (pid ${seen.mainPid})` : ''} and removed its unit`);
    }
  } finally {
    await driver.close();
  }
}

/** The demo running from `dir`, from its pid file; a stale file (a demo killed with SIGKILL) counts as none. */
async function runningDemo(dir: string): Promise<PidFile | null> {
  const text = await readFile(pidFileOf(dir), 'utf8').catch(() => null);
  if (text === null) return null;
  try {
    const found = JSON.parse(text) as PidFile;
    return (await runsCommand(found.pid, found.argv)) ? found : null;
  } catch {
    return null;
  }
}
