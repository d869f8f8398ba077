// The hypervisor's own systemd unit: rendering it, and driving it through `systemctl` (PID 1's
// manager for the system scope, the invoking user's manager for the user scope). The colors are
// separate user units; this unit only runs the daemon, from `<root>/hypervisor/current`.
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { ValidationError } from '../common/errors.js';
import { writeFileAtomic } from '../common/atomic-write.js';
import type { UnitState } from '../common/unit-state.js';
import { defaultUserEnv, Systemctl, type SystemdUserEnv } from '../units/systemctl.js';
import { isUserManagerReachable } from '../units/systemd-driver.js';
import type { InstallLayout, UnitScope } from './install-layout.js';

/** @default the name setup gives the unit */
export const DEFAULT_UNIT = 'openhack-hypervisor.service';
const UNIT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,200}\.service$/;
const SYSTEM_UNIT_DIR = '/etc/systemd/system';

/** Stopping drains requests in flight on the old color (proxy.drainTimeout, 30s by default) first. */
const TIMEOUT_STOP_SEC = 45;

export interface DaemonUnitSpec {
  scope: UnitScope;
  unit: string;
  node: string;
  config: string;
  root: string;
  layout: InstallLayout;
  /** The user manager the daemon drives the colors in. */
  env: SystemdUserEnv;
  /** Whose user manager that is (the system unit waits for it). */
  uid: number;
}

export function checkUnitName(unit: string): string {
  const name = unit.endsWith('.service') ? unit : `${unit}.service`;
  if (!UNIT_NAME.test(name))
    throw new ValidationError(
      '--unit-name',
      `must be a systemd service name like ${DEFAULT_UNIT}, got ${JSON.stringify(unit)}`,
    );
  return name;
}

export function unitFileOf(scope: UnitScope, unit: string, env: SystemdUserEnv): string {
  return scope === 'system'
    ? path.join(SYSTEM_UNIT_DIR, unit)
    : path.join(env.XDG_CONFIG_HOME, 'systemd', 'user', unit);
}

export function renderDaemonUnit(spec: DaemonUnitSpec): string {
  const entry = path.join(spec.layout.current, 'bin', 'hypervisor.js');
  const system = spec.scope === 'system';
  return [
    `# ${spec.unit}: the openhack-hypervisor daemon, written by \`hyperctl setup\` (which rewrites it).`,
    '# It starts whatever build <root>/hypervisor/current points at; `hyperctl upgrade` moves that link.',
    '[Unit]',
    'Description=openhack-hypervisor: blue/green deployments from git tags',
    // A system daemon drives the colors in a user manager: that manager must be up first.
    ...(system
      ? [
          'Wants=network-online.target',
          `Wants=user@${spec.uid}.service`,
          `After=network-online.target user@${spec.uid}.service`,
        ]
      : []),
    'StartLimitBurst=5',
    'StartLimitIntervalSec=60',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${quote(spec.node)} ${quote(entry)} --config ${quote(spec.config)}`,
    `Environment=${quote(spec.env.XDG_RUNTIME_DIR, 'XDG_RUNTIME_DIR')} ` +
      `${quote(spec.env.XDG_CONFIG_HOME, 'XDG_CONFIG_HOME')}`,
    `WorkingDirectory=${safe(spec.root)}`,
    'Restart=on-failure',
    'RestartSec=2',
    // Only the daemon is stopped on a restart: build scripts and process-driver backends it started
    // outlive it, and the next daemon adopts or cleans them up (as after a crash).
    'KillMode=process',
    `TimeoutStopSec=${TIMEOUT_STOP_SEC}`,
    `StandardOutput=append:${safe(spec.layout.daemonLog)}`,
    `StandardError=append:${safe(spec.layout.daemonLog)}`,
    '',
    '[Install]',
    `WantedBy=${system ? 'multi-user.target' : 'default.target'}`,
    '',
  ].join('\n');
}

/** Writes the unit file when its text differs; returns whether it changed (then a daemon-reload is due). */
export async function installDaemonUnit(spec: DaemonUnitSpec): Promise<{ file: string; changed: boolean }> {
  const file = unitFileOf(spec.scope, spec.unit, spec.env);
  const text = renderDaemonUnit(spec);
  await mkdir(path.dirname(file), { recursive: true });
  return { file, changed: (await writeFileAtomic(file, text)).changed };
}

/** The user manager of whoever runs hyperctl: where the colors (and a user-scope daemon) live. */
export function invokingUserEnv(): SystemdUserEnv {
  return defaultUserEnv();
}

export function userManagerAnswers(env: SystemdUserEnv): Promise<boolean> {
  return isUserManagerReachable(env);
}

/** Paths go into the unit verbatim: refuse what systemd would read differently, escape specifiers. */
function safe(value: string): string {
  if (!path.isAbsolute(value) || /["'\\\s$]/.test(value) || [...value].some((c) => c.charCodeAt(0) < 0x20)) {
    throw new ValidationError(
      '',
      `${JSON.stringify(value)} cannot go into a unit file: use an absolute path without spaces, ` +
        'quotes, $ or backslashes',
    );
  }
  return value.replaceAll('%', '%%');
}

/** A double-quoted path, optionally as the value of `NAME=` (an Environment assignment). */
function quote(value: string, name = ''): string {
  return `"${name ? `${name}=` : ''}${safe(value)}"`;
}

/** `systemctl` for the daemon's own unit, in its scope (units/systemctl.ts does the calling). */
export class DaemonService {
  readonly scope: UnitScope;
  readonly unit: string;
  readonly #systemctl: Systemctl;

  constructor(options: { scope: UnitScope; unit: string; env: SystemdUserEnv; timeoutMs?: number }) {
    this.scope = options.scope;
    this.unit = options.unit;
    this.#systemctl = new Systemctl({ scope: options.scope, env: options.env, timeoutMs: options.timeoutMs ?? 60_000 });
  }

  daemonReload(): Promise<string> {
    return this.#systemctl.daemonReload();
  }

  enable(): Promise<string> {
    return this.#systemctl.enable(this.unit);
  }

  start(): Promise<string> {
    return this.#systemctl.start(this.unit);
  }

  restart(): Promise<string> {
    return this.#systemctl.restart(this.unit);
  }

  /** `systemctl is-enabled` exits non-zero for anything but enabled. */
  async isEnabled(): Promise<boolean> {
    return (await this.#systemctl.run(['is-enabled', this.unit]).catch(() => '')).trim() === 'enabled';
  }

  /** The unit's states and main process (what `systemctl show` says). */
  state(): Promise<UnitState & { mainPid: number | null }> {
    return this.#systemctl.show(this.unit);
  }
}

/** PID 1 is systemd (the system scope needs it); here a container init, say, is not. */
export async function systemBootedWithSystemd(): Promise<boolean> {
  const comm = await readFile('/proc/1/comm', 'utf8').catch(() => '');
  return comm.trim() === 'systemd';
}
