// Runs the real `hypervisor` binary as a child process, the way an operator starts it, and talks
// to it over its real listeners. stop() sends SIGTERM (backends keep running, as in production).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { exampleBackendDir } from './example-repo.js';

export const BIN_DIR = path.join(path.dirname(exampleBackendDir()), '..', 'bin');

export interface DaemonProcess {
  readonly child: ChildProcess;
  output(): string;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
}

/** What a command printed, its exit code, and the signal that ended it (null when it exited by itself). */
export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
  signal?: NodeJS.Signals | null;
}

export interface RunOptions {
  env: NodeJS.ProcessEnv;
  /** Written to stdin, which is then closed (a password, or nothing). @default '' */
  input?: string;
  /** The command is killed after this long. @default 120_000 */
  timeoutMs?: number;
  /** @default the test's */
  cwd?: string;
}

/** Runs a command to its end as an operator would, collecting all it prints. */
export function runCommand(command: string, args: string[], options: RunOptions): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: options.env,
      cwd: options.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 120_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code: code ?? -1, stdout, stderr, signal }));
    child.stdin.end(options.input ?? '');
  });
}

/** Runs one of our binaries with node: stdin piped (a password, or nothing), from `cwd` (default: the test's). */
export function runBin(
  bin: 'hyperctl' | 'hyper-cli' | 'hypervisor' | 'demo',
  args: string[],
  env: NodeJS.ProcessEnv,
  input = '',
  timeoutMs = 120_000,
  cwd?: string,
): Promise<Ran> {
  return runCommand(process.execPath, [binPath(bin), ...args], { env, input, timeoutMs, cwd });
}

export function binPath(name: 'hypervisor' | 'hyperctl' | 'hyper-cli' | 'demo'): string {
  return path.resolve(BIN_DIR, `${name}.js`);
}

/**
 * Starts the daemon and resolves once its healthz answers 200 (every listener and the loop are up).
 * With `outputFile`, see spawnDaemonProcess.
 */
export async function startDaemonProcess(
  configPath: string,
  env: NodeJS.ProcessEnv,
  publicUrl: string,
  deadlineMs = 20_000,
  outputFile?: string,
): Promise<DaemonProcess> {
  const daemon = spawnDaemonProcess(configPath, env, outputFile);
  const { child } = daemon;
  const deadline = AbortSignal.timeout(deadlineMs);
  let last = 'no answer yet';
  while (!deadline.aborted) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`hypervisor exited with ${child.exitCode ?? child.signalCode}:\n${daemon.output()}`);
    }
    const answer = await fetch(`${publicUrl}/hypervisor/healthz`, { signal: AbortSignal.timeout(1000) }).then(
      async (r) => ({ ok: r.ok, text: `healthz ${r.status}: ${await r.text()}` }),
      (err: Error) => ({ ok: false, text: err.message }),
    );
    if (answer.ok) return daemon;
    last = answer.text;
    await delay(HEALTHZ_POLL_MS); // the pace between two looks at the condition, not a wait for it
  }
  await daemon.stop();
  throw new Error(`hypervisor not ready within ${deadlineMs} ms (last: ${last}):\n${daemon.output()}`);
}

/** How often startDaemonProcess asks healthz. */
const HEALTHZ_POLL_MS = 100;

/**
 * Starts the daemon without waiting for anything (a test that watches it come up). With `outputFile`
 * its stdout and stderr are appended to that file, as with the unit `hyperctl setup` writes
 * (`StandardOutput=append:`), instead of a pipe; output() reads the file back.
 */
export function spawnDaemonProcess(configPath: string, env: NodeJS.ProcessEnv, outputFile?: string): DaemonProcess {
  const fd = outputFile === undefined ? null : openSync(outputFile, 'a', 0o640);
  const child = spawn(process.execPath, [binPath('hypervisor'), '--config', configPath], {
    env: { ...process.env, ...env },
    stdio: ['ignore', fd ?? 'pipe', fd ?? 'pipe'],
  });
  if (fd !== null) closeSync(fd);
  let out = '';
  child.stdout?.on('data', (chunk) => {
    out += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    out += chunk;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    output: () => (outputFile === undefined ? out : readOutput(outputFile)),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      // A deadline, not a wait: the exit is awaited as an event; a daemon stuck in shutdown is killed.
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function readOutput(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    return `(cannot read ${file}: ${(err as Error).message})`;
  }
}

/** A scratch folder removed by the returned cleanup. */
export async function scratchDir(prefix: string): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
