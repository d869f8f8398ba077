// The units port: how the reconciler runs a color's backend. Two drivers implement it, `systemd`
// (real user units through systemctl --user) and `process` (a supervised child process, where no
// user manager runs). One contract suite (test/units-contract.ts) covers both.
import type { Color } from '../common/types.js';
import type { UnitState } from '../common/unit-state.js';

/** Everything needed to run one color: rendered into the unit file / the child's command line. */
export interface UnitSpec {
  color: Color;
  tag: string;
  version: string;
  /** Absolute path of the built executable `<root>/artifacts/<tag>/<version>`. */
  executable: string;
  port: number;
  deployment: string;
  envRoot: string;
  /** Output of the backend is appended here: `<root>/logs/<color>.log`. */
  logFile: string;
}

/**
 * A color's unit as it is now. Its states are systemd's (common/unit-state.ts); the process driver
 * reports the same words for the same situations (`loaded` or `not-found`; `activating/auto-restart`
 * while it waits to restart a crashed backend).
 */
export interface UnitObservation extends UnitState {
  color: Color;
  mainPid: number | null;
  nRestarts: number;
  /** The spec installed for this color, read back from what is on disk; null when none is. */
  installed: UnitSpec | null;
  /** Why what is on disk differs from what the hypervisor wrote (a unit file edited by hand); null when it does not. */
  drift: string | null;
}

/** What both drivers report for a color with no unit (never installed, or uninstalled). */
export function notInstalled(color: Color): UnitObservation {
  return {
    color,
    loadState: 'not-found',
    activeState: 'inactive',
    subState: 'dead',
    mainPid: null,
    nRestarts: 0,
    installed: null,
    drift: null,
  };
}

export interface UnitDriver {
  readonly kind: 'systemd' | 'process';
  /**
   * Writes the unit for `spec` atomically (and daemon-reloads), enabled so that it comes back when
   * the user manager starts again (a host reboot). `changed` is false when identical.
   */
  install(spec: UnitSpec): Promise<{ changed: boolean }>;
  /** Removes the unit of a color (stopping it first). */
  uninstall(color: Color): Promise<void>;
  start(color: Color): Promise<void>;
  stop(color: Color): Promise<void>;
  restart(color: Color): Promise<void>;
  observe(color: Color): Promise<UnitObservation>;
  /** Releases resources held by the driver; running backends keep running. */
  close(): Promise<void>;
}
