// Runs one script of the backend contract (BUILD or TEST) under the one supervisor
// (common/supervisor.ts): its own process group inside a containment, a deadline, cancellation, a
// clean environment and a capped log. It never rejects for what the script does: a crash, a timeout
// or an abort is an outcome, reported in the StepRun. A log the disk refuses stops the script at once
// (a build whose log cannot be kept is a failed build) and is reported as the run's `writeFailure`.
import os from 'node:os';
import path from 'node:path';
import type { Containment } from '../../common/containment.js';
import { supervise, type Supervised } from '../../common/supervisor.js';
import type { StepResult } from '../../common/types.js';
import type { WriteFailedError } from '../../common/write-failure.js';
import { CappedLog } from './capped-log.js';
import { clearMark, markStep } from './leftovers.js';

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
  containment: Containment;
  /** Where the running step is marked, so a daemon restarted after a crash can stop it (see leftovers.ts). */
  markFile?: string;
  /** Variables the script gets besides cleanEnv()'s (the smoke gate's target, say). */
  env?: Record<string, string>;
}

export interface StepRun {
  result: StepResult;
  aborted: boolean;
  /** Why the script could not be started at all (e.g. not executable), else null. */
  startError: string | null;
  /** The log could not be written (a full disk, say) and the script was stopped for it; else null. */
  writeFailure: WriteFailedError | null;
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

/** Rejects only when the log cannot even be created (WriteFailedError for a disk that refuses): nothing ran. */
export async function runStep(spec: StepSpec): Promise<StepRun> {
  const log = await CappedLog.open(spec.logPath, spec.logCapBytes);
  const logLost = new AbortController();
  log.onFailure((failure) => logLost.abort(failure));
  const startedAt = new Date();
  log.note(
    `${startedAt.toISOString()} $ ${[spec.command, ...spec.args].join(' ')} (in ${spec.cwd}, ` +
      `timeout ${spec.timeoutMs} ms)`,
  );
  const outcome = await supervise({
    argv: [spec.command, ...spec.args],
    cwd: spec.cwd,
    env: { ...cleanEnv(), ...spec.env },
    timeoutMs: spec.timeoutMs,
    killGraceMs: spec.killGraceMs,
    signal: AbortSignal.any([spec.signal, logLost.signal]),
    containment: spec.containment,
    label: `${spec.name} in ${spec.cwd}`,
    output: (chunk) => log.write(chunk),
    note: (text) => log.note(text),
    started: spec.markFile === undefined ? undefined : (pid, mark) => markStep(spec.markFile!, pid, mark),
  });
  if (spec.markFile !== undefined) await clearMark(spec.markFile).catch(() => undefined);
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
  const writeFailure = log.failure;
  return { result, aborted: aborted && writeFailure === null, startError, writeFailure };
}

/** How a step ended, in words an operator reads in a log or a release's `error`. */
export function describeOutcome(outcome: Supervised, timeoutMs: number): string {
  if (outcome.startError !== null) return `could not start: ${outcome.startError}`;
  if (outcome.timedOut) return `timed out after ${timeoutMs} ms and was killed (${outcome.signal ?? 'exited'})`;
  if (outcome.aborted) return `was cancelled and killed (${outcome.signal ?? 'exited'})`;
  if (outcome.signal !== null) return `was killed by ${outcome.signal}`;
  return `exited with code ${outcome.exitCode}`;
}
