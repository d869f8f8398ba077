// Renders a color's systemd user unit and reads back the spec it was rendered from.
// The spec travels inside the file as one JSON comment line, so after a daemon restart the
// reconciler learns which tag a unit runs from the file alone, without any other bookkeeping.
import path from 'node:path';
import { ValidationError } from '../common/errors.js';
import { isColor, type Color } from '../common/types.js';
import { type UnitSpec } from './driver.js';

export const SPEC_MARKER = '# openhack-hypervisor-spec: ';

/** Same rule as `app.name` in the config: it becomes part of a file name and a unit name. */
const APP_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;
/** systemd refuses an executable path containing quotes or backslashes ("special characters"). */
const EXECUTABLE_FORBIDDEN = /["'\\]/;

/** Starts allowed per interval before systemd gives up and marks the unit failed. */
const START_LIMIT_BURST = 5;
const START_LIMIT_INTERVAL_SEC = 60;

export function unitName(appName: string, color: Color): string {
  if (!APP_NAME.test(appName)) {
    throw new ValidationError('app.name', `must match ${APP_NAME.source}, got ${JSON.stringify(appName)}`);
  }
  if (!isColor(color)) throw new ValidationError('color', `must be blue or green, got ${JSON.stringify(color)}`);
  return `${appName}-${color}.service`;
}

export function renderUnit(spec: UnitSpec, appName: string): string {
  validateSpec(spec);
  const name = unitName(appName, spec.color);
  const exec = [quoteExecutable(spec.executable), ...backendArgs(spec).map(quoteArgument)].join(' ');
  return [
    `${SPEC_MARKER}${JSON.stringify(canonicalSpec(spec))}`,
    `# ${name}: written by openhack-hypervisor; edits are overwritten on the next install.`,
    '[Unit]',
    `Description=${escapeSpecifiers(`${appName} ${spec.color} slot (${spec.tag})`)}`,
    `StartLimitBurst=${START_LIMIT_BURST}`,
    `StartLimitIntervalSec=${START_LIMIT_INTERVAL_SEC}`,
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${exec}`,
    `WorkingDirectory=${escapeSpecifiers(path.dirname(spec.executable))}`,
    'Restart=on-failure',
    'RestartSec=1',
    'KillMode=control-group',
    'TimeoutStopSec=10',
    `StandardOutput=append:${escapeSpecifiers(spec.logFile)}`,
    `StandardError=append:${escapeSpecifiers(spec.logFile)}`,
    '',
    '[Install]',
    'WantedBy=default.target',
    '',
  ].join('\n');
}

/** The backend contract's command line, without the executable. Both drivers use it. */
export function backendArgs(spec: UnitSpec): string[] {
  return [
    '--deployment',
    spec.deployment,
    '--port',
    String(spec.port),
    '--env-root',
    spec.envRoot,
    '--app-version',
    spec.version,
  ];
}

/** The spec comment of an installed unit file; null when absent or not a valid spec. */
export function parseInstalledSpec(text: string): UnitSpec | null {
  const line = text.split('\n').find((l) => l.startsWith(SPEC_MARKER));
  if (line === undefined) return null;
  let value: unknown;
  try {
    value = JSON.parse(line.slice(SPEC_MARKER.length));
  } catch {
    return null;
  }
  return asSpec(value);
}

/** Checks a plain value is a valid spec; returns it in canonical key order, or null. */
export function asSpec(value: unknown): UnitSpec | null {
  if (typeof value !== 'object' || value === null) return null;
  const spec = canonicalSpec(value as UnitSpec);
  try {
    validateSpec(spec);
  } catch {
    return null;
  }
  return spec;
}

/** Throws a ValidationError naming the field of the spec that cannot go into a unit safely. */
export function validateSpec(spec: UnitSpec): void {
  if (!isColor(spec.color)) fail('color', 'must be blue or green', spec.color);
  for (const key of ['tag', 'version', 'deployment'] as const) checkText(key, spec[key]);
  for (const key of ['executable', 'envRoot', 'logFile'] as const) checkPath(key, spec[key]);
  if (EXECUTABLE_FORBIDDEN.test(spec.executable)) {
    fail('executable', 'must not contain quotes or backslashes (systemd refuses such executables)', spec.executable);
  }
  if (!Number.isInteger(spec.port) || spec.port < 1 || spec.port > 65535)
    fail('port', 'must be an integer 1-65535', spec.port);
}

function checkText(key: keyof UnitSpec, value: unknown): void {
  if (typeof value !== 'string' || value.length === 0) fail(key, 'must be a non-empty string', value);
  if (hasControlChar(value)) fail(key, 'must not contain newlines or control characters', value);
}

function checkPath(key: keyof UnitSpec, value: unknown): void {
  checkText(key, value);
  const p = value as string;
  if (!path.isAbsolute(p)) fail(key, 'must be an absolute path', p);
  // systemd trims surrounding whitespace and treats a trailing backslash as a line continuation.
  if (p.trim() !== p || p.endsWith('\\')) fail(key, 'must not end in whitespace or a backslash', p);
}

/** C0 controls, DEL and C1 controls: a newline would inject a setting, the rest garble argv. */
function hasControlChar(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) return true;
  }
  return false;
}

function fail(key: string, message: string, value: unknown): never {
  throw new ValidationError(`spec.${key}`, `${message}, got ${JSON.stringify(value)}`);
}

function canonicalSpec(s: UnitSpec): UnitSpec {
  return {
    color: s.color,
    tag: s.tag,
    version: s.version,
    executable: s.executable,
    port: s.port,
    deployment: s.deployment,
    envRoot: s.envRoot,
    logFile: s.logFile,
  };
}

/** `%` starts a specifier in almost every setting; `%%` is a literal percent sign. */
function escapeSpecifiers(value: string): string {
  return value.replaceAll('%', '%%');
}

/** The executable word is not subject to `$` expansion, so only specifiers need escaping. */
function quoteExecutable(executable: string): string {
  return `"${escapeSpecifiers(executable)}"`;
}

/** An argument in double quotes: C-style escapes, `%%` for specifiers, `$$` against env expansion. */
function quoteArgument(arg: string): string {
  const escaped = arg
    .replaceAll('\\', '\\\\')
    .replaceAll('"', '\\"')
    .replaceAll('%', '%%')
    .replaceAll('$', () => '$$');
  return `"${escaped}"`;
}
