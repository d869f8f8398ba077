// Where a supervised command's processes are held, so that those that leave its process group
// (setsid, a double fork) still end with it. Every run carries a mark: a random token in the
// environment of each of its processes (`HYPERVISOR_STEP`), also written to disk while it runs, so
// that a daemon restarted after a crash finds what the previous one left.
import { randomBytes } from 'node:crypto';
import { environHas } from './proc-table.js';
import { processesWhere, stopProcesses } from './process-group.js';

/** The environment variable that carries a run's mark into every process it starts. */
export const STEP_MARK_VAR = 'HYPERVISOR_STEP';

/** A run's mark: 16 hex digits, unique enough that no unrelated process carries it. */
export function newStepMark(): string {
  return randomBytes(8).toString('hex');
}

export function isStepMark(value: unknown): value is string {
  return typeof value === 'string' && /^[0-9a-f]{16}$/.test(value);
}

export interface Enclosed {
  argv: string[];
  env: Record<string, string>;
}

export interface EncloseLimits {
  /** What the run is, for an operator who lists what runs (a unit's description). */
  label: string;
  timeoutMs: number;
  killGraceMs: number;
}

export interface Containment {
  readonly kind: 'sweep' | 'scope';
  /** The command line and environment that run `argv` inside the containment named by `mark`. */
  enclose(argv: readonly string[], env: Record<string, string>, mark: string, limits: EncloseLimits): Enclosed;
  /**
   * Ends every process still held under `mark` (SIGTERM, SIGKILL after the grace); resolves true when
   * some process was still running. Safe to call for a mark whose processes are all gone.
   */
  end(mark: string, killGraceMs: number): Promise<boolean>;
}

/**
 * The containment where no service manager is at hand: the mark in the environment is the only
 * thread, and /proc/<pid>/environ is searched for it. A process that replaces its whole environment
 * before it execs escapes this; the systemd containment (a scope's cgroup) has no such gap.
 */
export const environSweep: Containment = {
  kind: 'sweep',
  enclose: (argv, env) => ({ argv: [...argv], env }),
  end: async (mark, killGraceMs) => {
    const entry = `${STEP_MARK_VAR}=${mark}`;
    const report = await stopProcesses(
      processesWhere((p) => environHas(p.pid, entry)),
      killGraceMs,
    );
    return report.signalled;
  },
};
