// A typed wrapper around `systemctl --user` (and, for hyperctl's own unit, the system manager's
// `systemctl`). Every call runs with a small, explicit environment (so an inherited
// DBUS_SESSION_BUS_ADDRESS cannot point us at some other manager) and a timeout.
import { execFile } from 'node:child_process';
import { homedir } from 'node:os';
import path from 'node:path';
import { HypervisorError } from '../common/errors.js';
import { parseUnitState, type UnitState } from '../common/unit-state.js';

/**
 * Which user manager to talk to: its runtime dir (private socket) and its config home (unit files).
 * A type alias, not an interface, so it can be spread into or passed as a `NodeJS.ProcessEnv`.
 */
export type SystemdUserEnv = {
  XDG_RUNTIME_DIR: string;
  XDG_CONFIG_HOME: string;
};

/** The process's own user manager: `$XDG_RUNTIME_DIR` or `/run/user/<uid>`, `$XDG_CONFIG_HOME` or `~/.config`. */
export function defaultUserEnv(): SystemdUserEnv {
  return {
    XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR || `/run/user/${process.getuid?.() ?? 0}`,
    XDG_CONFIG_HOME: process.env.XDG_CONFIG_HOME || path.join(homedir(), '.config'),
  };
}

/** systemctl failed, timed out or could not be run. */
export class SystemctlError extends HypervisorError {
  readonly command: string[];
  /** null when it was killed (timeout) or never ran. */
  readonly exitCode: number | null;
  readonly stderr: string;
  readonly timedOut: boolean;
  constructor(command: string[], exitCode: number | null, stderr: string, timedOut: boolean, cause?: unknown) {
    const what = timedOut ? 'timed out' : exitCode === null ? 'could not run' : `exited with ${exitCode}`;
    super(
      'systemctl',
      `${command.join(' ')} ${what}: ${stderr.trim() || String((cause as Error | undefined)?.message ?? '')}`,
      { cause },
    );
    this.command = command;
    this.exitCode = exitCode;
    this.stderr = stderr;
    this.timedOut = timedOut;
  }
}

/** systemctl's exit code for "unit not loaded / not found" (LSB "program is not installed"). */
export const EXIT_UNIT_NOT_FOUND = 5;

export interface UnitShow extends UnitState {
  /** null when systemd reports 0 (no main process). */
  mainPid: number | null;
  nRestarts: number;
  /** Drop-in files that override the unit (what `systemctl --user edit` writes). */
  dropIns: string[];
}

/** Which manager: a user manager (`systemctl --user`, named by the env), or PID 1's. */
export type SystemdScope = 'user' | 'system';

export interface SystemctlOptions {
  /** @default 'user' */
  scope?: SystemdScope;
  /** The user manager of the user scope. @default defaultUserEnv() */
  env?: SystemdUserEnv;
  /** Upper bound for one call. @default 30_000 */
  timeoutMs?: number;
}

export class Systemctl {
  readonly scope: SystemdScope;
  readonly env: SystemdUserEnv;
  #timeoutMs: number;

  constructor(options: SystemctlOptions = {}) {
    this.scope = options.scope ?? 'user';
    this.env = options.env ?? defaultUserEnv();
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    if (!Number.isInteger(this.#timeoutMs) || this.#timeoutMs <= 0) {
      throw new RangeError(`timeoutMs must be a positive integer, got ${options.timeoutMs}`);
    }
  }

  daemonReload(): Promise<string> {
    return this.run(['daemon-reload']);
  }

  start(unit: string): Promise<string> {
    return this.run(['start', unit]);
  }

  stop(unit: string): Promise<string> {
    return this.run(['stop', unit]);
  }

  restart(unit: string): Promise<string> {
    return this.run(['restart', unit]);
  }

  /** Links the unit into default.target, so the user manager starts it at its own start. */
  enable(unit: string): Promise<string> {
    return this.run(['enable', unit]);
  }

  disable(unit: string): Promise<string> {
    return this.run(['disable', unit]);
  }

  resetFailed(unit: string): Promise<string> {
    return this.run(['reset-failed', unit]);
  }

  async show(unit: string): Promise<UnitShow> {
    const props = parseProperties(
      await this.run(['show', '-p', 'ActiveState,SubState,MainPID,NRestarts,LoadState,DropInPaths', unit]),
    );
    const mainPid = Number(props.get('MainPID') ?? 0);
    return {
      ...parseUnitState({
        loadState: props.get('LoadState') ?? 'not-found',
        activeState: props.get('ActiveState') ?? 'inactive',
        subState: props.get('SubState') ?? 'dead',
      }),
      mainPid: Number.isInteger(mainPid) && mainPid > 0 ? mainPid : null,
      nRestarts: Number(props.get('NRestarts') ?? 0) || 0,
      dropIns: (props.get('DropInPaths') ?? '').split(' ').filter((p) => p.length > 0),
    };
  }

  /** True when the loaded unit is older than its file on disk (a reload was missed, e.g. by a crash). */
  async needsDaemonReload(unit: string): Promise<boolean> {
    return parseProperties(await this.run(['show', '-p', 'NeedDaemonReload', unit])).get('NeedDaemonReload') === 'yes';
  }

  /** Runs `systemctl [--user] <args>` and returns its stdout; throws SystemctlError with systemd's own words. */
  run(args: string[], options: { timeoutMs?: number } = {}): Promise<string> {
    const user = this.scope === 'user';
    const command = ['systemctl', ...(user ? ['--user'] : []), ...args];
    const env = {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      LC_ALL: 'C',
      SYSTEMD_PAGER: '',
      ...(user ? this.env : {}),
    };
    return new Promise((resolve, reject) => {
      execFile(
        'systemctl',
        command.slice(1),
        { env, timeout: options.timeoutMs ?? this.#timeoutMs, killSignal: 'SIGKILL', maxBuffer: 4 * 1024 * 1024 },
        (err, stdout, stderr) => {
          if (!err) return resolve(stdout);
          const e = err as NodeJS.ErrnoException & { code?: unknown; killed?: boolean };
          const exitCode = typeof e.code === 'number' ? e.code : null;
          reject(new SystemctlError(command, exitCode, stderr, e.killed === true && exitCode === null, err));
        },
      );
    });
  }
}

function parseProperties(stdout: string): Map<string, string> {
  const props = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) props.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return props;
}
