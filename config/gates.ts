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

/**
 * Judges the new color from the proxy's own measurements for `window` after a switch; a failure
 * moves traffic back (reconciler/verifier.ts, reconciler/judge.ts).
 */
export interface VerifyGateConfig {
  /** @default 2m */
  windowMs: number;
  /** @default 50 */
  minRequests: number;
  /** A fraction; the key takes a percentage (`1%`). @default 0.01 */
  maxErrorRate: number;
  /** @default 2s */
  maxP99Seconds: number;
  /** Too few requests at the end of the window: pass, or hold (keep watching until there are enough). @default pass */
  onTooFew: 'pass' | 'hold';
}

export interface GatesConfig {
  /** @default null (no smoke gate) */
  smoke: SmokeGateConfig | null;
  /** @default null (no verification after a switch) */
  verify: VerifyGateConfig | null;
  /** A switch moves traffic in steps (config/canary.ts). @default null (a switch moves all at once) */
  canary: CanaryGateConfig | null;
}

/** Run as `./<command>` inside the checkout: one path segment that cannot look like an option. */
const SCRIPT_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$/;

export function readGates(r: ObjectReader): GatesConfig {
  const gates: GatesConfig = {
    smoke: r.has('smoke') ? readSmoke(r.child('smoke')) : (r.raw('smoke'), null),
    verify: r.has('verify') ? readVerify(r.child('verify')) : (r.raw('verify'), null),
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

const PERCENT = /^(\d{1,3}(?:\.\d{1,2})?)%$/;

function readVerify(r: ObjectReader): VerifyGateConfig {
  const windowMs = r.durationMs('window', '2m');
  if (windowMs < 1000)
    throw new ValidationError(r.keyPath('window'), `must be at least 1s, got ${describeValue(r.raw('window'))}`);
  const rate = r.raw('maxErrorRate') ?? '1%';
  const match = typeof rate === 'string' ? PERCENT.exec(rate.trim()) : null;
  if (!match || Number(match[1]) > 100) {
    throw new ValidationError(
      r.keyPath('maxErrorRate'),
      `must be a percentage like 1% or 0.5%, got ${describeValue(rate)}`,
    );
  }
  const maxP99Ms = r.durationMs('maxP99', '2s');
  if (maxP99Ms <= 0)
    throw new ValidationError(r.keyPath('maxP99'), `must be longer than 0, got ${describeValue(r.raw('maxP99'))}`);
  const verify: VerifyGateConfig = {
    windowMs,
    minRequests: r.integer('minRequests', 50, 1, 1_000_000),
    maxErrorRate: Number(match[1]) / 100,
    maxP99Seconds: maxP99Ms / 1000,
    onTooFew: r.oneOf('onTooFew', ['pass', 'hold'] as const, 'pass'),
  };
  r.rejectUnknown();
  return verify;
}
