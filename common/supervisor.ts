// Runs one command to its end and makes sure nothing it started outlives it: the command leads its
// own process group (spawned detached) inside a containment (a systemd scope, or a mark in the
// environment), with a deadline and an AbortSignal. When the leader exits, times out or is
// cancelled, its group is stopped, then whatever the containment still holds (processes that left
// the group by setsid). It never rejects for what the command does: a crash, a timeout or an abort
// is an outcome.
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { newStepMark, STEP_MARK_VAR, type Containment } from './containment.js';
import { ProcessGroup, type StopReport } from './process-group.js';

/** How long stdout/stderr may stay open after every process is gone before we stop reading them. */
const PIPE_DRAIN_MS = 1_000;

export interface SuperviseSpec {
  argv: readonly string[];
  cwd: string;
  /** The whole environment of the command (nothing is inherited); the run's mark is added. */
  env: Record<string, string>;
  timeoutMs: number;
  /** Time between SIGTERM and SIGKILL. */
  killGraceMs: number;
  signal: AbortSignal;
  containment: Containment;
  /** What runs, for an operator who lists running units, e.g. `BUILD in /var/openhack/repos/v1`. */
  label: string;
  /** stdout and stderr, as they come. */
  output(chunk: Buffer): void;
  /** A line of the supervisor's own: a timeout, a cancellation, processes it had to stop. */
  note(text: string): void;
  /** The command runs: record where a daemon restarted after a crash finds it. Awaited before the outcome. */
  started?(pid: number, mark: string): Promise<void>;
}

export interface Supervised {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  aborted: boolean;
  /** Why the command could not be started at all (e.g. not executable), else null. */
  startError: string | null;
}

export function supervise(spec: SuperviseSpec): Promise<Supervised> {
  const mark = newStepMark();
  const enclosed = spec.containment.enclose(spec.argv, { ...spec.env, [STEP_MARK_VAR]: mark }, mark, spec);
  const child = spawn(enclosed.argv[0]!, enclosed.argv.slice(1), {
    cwd: spec.cwd,
    env: enclosed.env,
    detached: true, // the command leads a new process group, which is what ProcessGroup signals
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  child.stdout?.on('data', (chunk: Buffer) => spec.output(chunk));
  child.stderr?.on('data', (chunk: Buffer) => spec.output(chunk));
  const group = child.pid === undefined ? null : new ProcessGroup(child.pid, spec.killGraceMs);
  // A record that cannot be written only loses the cleanup after a crash: the run goes on.
  const recorded = child.pid === undefined ? Promise.resolve() : spec.started?.(child.pid, mark).catch(() => undefined);
  const limits = watchLimits(spec, group);
  return new Promise((resolve) => {
    child.once('error', (err) => {
      if (child.pid !== undefined) return;
      limits.clear();
      resolve({ exitCode: null, signal: null, ...limits.flags, startError: err.message });
    });
    child.once('exit', (exitCode, signal) => {
      limits.clear();
      void afterExit({ child, group, closed, mark, spec })
        .then(() => recorded)
        .then(() => resolve({ exitCode, signal, ...limits.flags, startError: null }));
    });
  });
}

interface Limits {
  flags: { timedOut: boolean; aborted: boolean };
  clear(): void;
}

/** The deadline and the cancellation: whichever comes first stops the group, once. */
function watchLimits(spec: SuperviseSpec, group: ProcessGroup | null): Limits {
  const flags = { timedOut: false, aborted: false };
  const stopFor = (reason: 'timedOut' | 'aborted'): void => {
    if (flags.timedOut || flags.aborted) return;
    flags[reason] = true;
    spec.note(
      `${reason === 'timedOut' ? `timeout of ${spec.timeoutMs} ms reached` : 'cancelled'}: stopping the process group`,
    );
    void group?.stop();
  };
  const timer = setTimeout(() => stopFor('timedOut'), spec.timeoutMs);
  const onAbort = (): void => stopFor('aborted');
  spec.signal.addEventListener('abort', onAbort, { once: true });
  if (spec.signal.aborted) onAbort();
  return {
    flags,
    clear: () => {
      clearTimeout(timer);
      spec.signal.removeEventListener('abort', onAbort);
    },
  };
}

interface Exited {
  child: ChildProcess;
  group: ProcessGroup | null;
  closed: Promise<void>;
  mark: string;
  spec: SuperviseSpec;
}

/** The leader is gone: what it left in its group is stopped, then what left the group, then the pipes are drained. */
async function afterExit({ child, group, closed, mark, spec }: Exited): Promise<void> {
  const report = group ? await group.stop() : null;
  if (report) noteGroup(report, spec);
  await endContained(mark, spec);
  const drained = await Promise.race([closed.then(() => true), delay(PIPE_DRAIN_MS).then(() => false)]);
  if (!drained) {
    // Only a process that escaped every containment can still hold the pipes; stop listening to it.
    child.stdout?.destroy();
    child.stderr?.destroy();
  }
}

/** Whatever the containment still holds; a failure to look is noted, never thrown (the outcome stands). */
async function endContained(mark: string, spec: SuperviseSpec): Promise<void> {
  try {
    if (await spec.containment.end(mark, spec.killGraceMs)) {
      spec.note(`processes that had left the process group were still running: stopped (${spec.containment.kind})`);
    }
  } catch (err) {
    spec.note(`could not stop processes that left the process group (${spec.containment.kind}): ${String(err)}`);
  }
}

function noteGroup(report: StopReport, spec: SuperviseSpec): void {
  if (!report.signalled) return;
  spec.note(`processes of the group were still running: sent SIGTERM${report.forced ? ', then SIGKILL' : ''}`);
  if (report.survivors) spec.note('some processes of the group survived SIGKILL');
}
