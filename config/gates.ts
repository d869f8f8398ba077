// The promotion gates (config key `gates`, issue 13): checks a release must pass around a switch.
// Each gate is optional; a missing key means the gate is off. Read like every other section: a bad
// key or value stops the daemon with a message naming both.
import { describeValue } from '../common/describe.js';
import { ValidationError } from '../common/errors.js';
import { readCanary, type CanaryGateConfig } from './canary.js';
import type { ObjectReader } from './reader.js';

/** Runs the release's own smoke script against its color once that color is Ready, before any switch. */
export interface SmokeGateConfig {
  /** A script in the release's checkout, run as `./<command>`. @default 'SMOKE' */
  command: string;
  /** The script is killed (and the gate fails) after this long. @default 5m */
  timeoutMs: number;
}

export interface GatesConfig {
  /** @default null (no smoke gate) */
  smoke: SmokeGateConfig | null;
  /** A switch moves traffic in steps (config/canary.ts). @default null (a switch moves all at once) */
  canary: CanaryGateConfig | null;
}

/** Run as `./<command>` inside the checkout: one path segment that cannot look like an option. */
const SCRIPT_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$/;

export function readGates(r: ObjectReader): GatesConfig {
  const gates: GatesConfig = {
    smoke: r.has('smoke') ? readSmoke(r.child('smoke')) : (r.raw('smoke'), null),
    canary: r.has('canary') ? readCanary(r.child('canary')) : (r.raw('canary'), null),
  };
  r.rejectUnknown();
  return gates;
}

function readSmoke(r: ObjectReader): SmokeGateConfig {
  const command = r.string('command', 'SMOKE');
  if (!SCRIPT_NAME.test(command) || command.includes('..')) {
    throw new ValidationError(
      r.keyPath('command'),
      `must be a script name in the release's checkout, like SMOKE or smoke.sh, got ${describeValue(command)}`,
    );
  }
  const smoke = { command, timeoutMs: r.durationMs('timeout', '5m') };
  r.rejectUnknown();
  return smoke;
}
