// Runs one script of the backend contract (BUILD or TEST) as its own process group, with a
// deadline, cancellation, a clean environment and a capped log. It never rejects for what the
// script does: a crash, a timeout or an abort is an outcome, reported in the StepRun.
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { StepResult } from '../../common/types.js';
import { CappedLog } from './capped-log.js';
import { clearMark, markGroup } from './leftovers.js';
import { ProcessGroup, type StopReport } from './process-group.js';

/** How long stdout/stderr may stay open after the group is gone before we stop reading them. */
const PIPE_DRAIN_MS = 1_000;

export interface StepSpec {
  /** The script's name for log lines and messages, e.g. `BUILD`. */
  name: string;
  command: string;
  args: string[];
  cwd: string;
  timeoutMs: number;
  /** Time between SIGTERM and SIGKILL to the group. */
  killGraceMs: number;
  logPath: string;
  logCapBytes: number;
  signal: AbortSignal;
  /** Where the running group is marked, so a daemon restarted after a crash can stop it (see leftovers.ts). */
  markFile?: string;
}

export interface StepRun {
  result: StepResult;
  aborted: boolean;
  /** Why the script could not be started at all (e.g. not executable), else null. */
  startError: string | null;
}

interface Outcome {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  aborted: boolean;
  startError: string | null;
}

/**
 * PATH, HOME and LANG only: the daemon's own secrets (store URI, webhook secret, tokens) stay out of
 * scripts that come from a git tag. Node's folder is appended to PATH so `#!/usr/bin/env node`
 * scripts find the node that runs the daemon even under a minimal PATH.
 */
export function cleanEnv(): Record<string, string> {
  const base = process.env.PATH || '/usr/local/bin:/usr/bin:/bin';
  const nodeDir = path.dirname(process.execPath);
  return {
    PATH: base.split(path.delimiter).includes(nodeDir) ? base : `${base}${path.delimiter}${nodeDir}`,
    HOME: os.homedir(),
    LANG: process.env.LANG || 'C.UTF-8',
  };
}

export async function runStep(spec: StepSpec): Promise<StepRun> {
  const log = await CappedLog.open(spec.logPath, spec.logCapBytes);
  const startedAt = new Date();
  log.note(
    `${startedAt.toISOString()} $ ${[spec.command, ...spec.args].join(' ')} (in ${spec.cwd}, timeout ${spec.timeoutMs} ms)`,
  );
  const outcome = await supervise(spec, log);
  const finishedAt = new Date();
  log.note(`${finishedAt.toISOString()} ${spec.name} ${describeOutcome(outcome, spec.timeoutMs)}`);
  await log.close();
  const { exitCode, signal, timedOut, aborted, startError } = outcome;
  const result: StepResult = {
    exitCode,
    signal,
    timedOut,
    durationMs: finishedAt.getTime() - startedAt.getTime(),
    logPath: spec.logPath,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
  };
  return { result, aborted, startError };
}

/** How a step ended, in words an operator reads in a log or a release's `error`. */
export function describeOutcome(
  outcome: Pick<Outcome, 'exitCode' | 'signal' | 'timedOut' | 'aborted' | 'startError'>,
  timeoutMs: number,
): string {
  if (outcome.startError !== null) return `could not start: ${outcome.startError}`;
  if (outcome.timedOut) return `timed out after ${timeoutMs} ms and was killed (${outcome.signal ?? 'exited'})`;
  if (outcome.aborted) return `was cancelled and killed (${outcome.signal ?? 'exited'})`;
  if (outcome.signal !== null) return `was killed by ${outcome.signal}`;
  return `exited with code ${outcome.exitCode}`;
}

function supervise(spec: StepSpec, log: CappedLog): Promise<Outcome> {
  // detached: the script leads a new process group, which is what ProcessGroup signals.
  const child = spawn(spec.command, spec.args, {
    cwd: spec.cwd,
    env: cleanEnv(),
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  child.stdout?.on('data', (chunk: Buffer) => log.write(chunk));
  child.stderr?.on('data', (chunk: Buffer) => log.write(chunk));
  const group = child.pid === undefined ? null : new ProcessGroup(child.pid, spec.killGraceMs);
  const marked = child.pid !== undefined && spec.markFile ? markGroup(spec.markFile, child.pid) : null;
  const flags = { timedOut: false, aborted: false };
  const stopFor = (reason: 'timedOut' | 'aborted'): void => {
    if (flags.timedOut || flags.aborted) return;
    flags[reason] = true;
    log.note(
      `${reason === 'timedOut' ? `timeout of ${spec.timeoutMs} ms reached` : 'cancelled'}: stopping the process group`,
    );
    void group?.stop();
  };
  const timer = setTimeout(() => stopFor('timedOut'), spec.timeoutMs);
  const onAbort = (): void => stopFor('aborted');
  spec.signal.addEventListener('abort', onAbort, { once: true });
  if (spec.signal.aborted) onAbort();
  const cleanup = (): void => {
    clearTimeout(timer);
    spec.signal.removeEventListener('abort', onAbort);
  };
  return new Promise((resolve) => {
    child.once('error', (err) => {
      if (child.pid !== undefined) return;
      cleanup();
      resolve({ exitCode: null, signal: null, ...flags, startError: err.message });
    });
    child.once('exit', (exitCode, signal) => {
      cleanup();
      void afterExit(child, group, closed, log)
        .then(() => unmark(marked, spec.markFile))
        .then(() => resolve({ exitCode, signal, ...flags, startError: null }));
    });
  });
}

/** The group is gone (or the step never started): its mark goes too. */
async function unmark(marked: Promise<void> | null, file: string | undefined): Promise<void> {
  if (marked === null || file === undefined) return;
  await marked;
  await clearMark(file).catch(() => undefined);
}

/** The leader is gone; anything it left in its group is stopped too, then the pipes are drained. */
async function afterExit(
  child: ChildProcess,
  group: ProcessGroup | null,
  closed: Promise<void>,
  log: CappedLog,
): Promise<void> {
  const report = group ? await group.stop() : null;
  if (report) noteLeftovers(report, log);
  const drained = await Promise.race([closed.then(() => true), delay(PIPE_DRAIN_MS).then(() => false)]);
  if (!drained) {
    // Only a process that escaped the group (setsid) can still hold the pipes; stop listening to it.
    child.stdout?.destroy();
    child.stderr?.destroy();
  }
}

function noteLeftovers(report: StopReport, log: CappedLog): void {
  if (!report.signalled) return;
  log.note(`processes of the group were still running: sent SIGTERM${report.forced ? ', then SIGKILL' : ''}`);
  if (report.survivors) log.note('some processes of the group survived SIGKILL');
}
