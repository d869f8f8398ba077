// The containment of a step under the systemd driver: the script runs in a transient scope of the
// user manager (`systemd-run --user --scope`), a cgroup of its own. Leaving the process group
// (setsid) does not leave the cgroup, so stopping the scope ends every process the step started.
// systemd-run execs the script in place, so the supervisor's pid, pipes, exit code and signal stay
// the script's own. The scope survives a daemon killed by SIGKILL: RuntimeMaxSec ends it if no
// daemon comes back, and a restarted daemon stops it by its name (which holds the step's mark).
import type { Containment, EncloseLimits, Enclosed } from '../common/containment.js';
import { isStepMark } from '../common/containment.js';
import { isStopped } from '../common/unit-state.js';
import { Systemctl, SystemctlError, defaultUserEnv, EXIT_UNIT_NOT_FOUND, type SystemdUserEnv } from './systemctl.js';

/** Past the step's own deadline and kill grace: the daemon's timer always acts first while it lives. */
const RUNTIME_MARGIN_MS = 30_000;

export interface StepScopesOptions {
  /** Which user manager. @default defaultUserEnv() */
  env?: SystemdUserEnv;
  /** Upper bound for one systemctl call. @default 30_000 */
  timeoutMs?: number;
}

/** `hypervisor-step-<mark>.scope`: `systemctl --user list-units 'hypervisor-step-*'` lists the steps running. */
export function stepScopeName(mark: string): string {
  if (!isStepMark(mark)) throw new RangeError(`not a step mark: ${JSON.stringify(mark)}`);
  return `hypervisor-step-${mark}.scope`;
}

export class StepScopes implements Containment {
  readonly kind = 'scope' as const;
  readonly #env: SystemdUserEnv;
  readonly #systemctl: Systemctl;

  constructor(options: StepScopesOptions = {}) {
    this.#env = options.env ?? defaultUserEnv();
    this.#systemctl = new Systemctl({ env: this.#env, timeoutMs: options.timeoutMs });
  }

  enclose(argv: readonly string[], env: Record<string, string>, mark: string, limits: EncloseLimits): Enclosed {
    // `env -i NAME=value... command`: the script gets exactly `env`, not the variables systemd-run
    // needs (the manager's folders) or adds (INVOCATION_ID).
    if (argv[0] === undefined || argv[0].includes('=')) throw new RangeError(`not a command: ${String(argv[0])}`);
    const assignments = Object.entries(env).map(([name, value]) => `${name}=${value}`);
    return {
      argv: [
        'systemd-run',
        '--user',
        '--scope',
        '--quiet',
        '--collect',
        `--unit=${stepScopeName(mark)}`,
        `--description=${limits.label}`,
        '--property=KillMode=control-group',
        `--property=TimeoutStopSec=${limits.killGraceMs}ms`,
        `--property=RuntimeMaxSec=${limits.timeoutMs + limits.killGraceMs + RUNTIME_MARGIN_MS}ms`,
        '--',
        'env',
        '-i',
        ...assignments,
        ...argv,
      ],
      env: { ...env, ...this.#env },
    };
  }

  /** Stops the scope (SIGTERM to its cgroup, SIGKILL after TimeoutStopSec) when it still holds a process. */
  async end(mark: string): Promise<boolean> {
    const unit = stepScopeName(mark);
    if (isStopped(await this.#systemctl.show(unit))) return false;
    try {
      await this.#systemctl.stop(unit);
    } catch (err) {
      // The last process left between the question and the stop: the scope is gone, as wanted.
      if (err instanceof SystemctlError && err.exitCode === EXIT_UNIT_NOT_FOUND) return false;
      throw err;
    }
    return true;
  }
}
