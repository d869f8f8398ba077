// The canary gate (config key `gates.canary`): a switch moves public traffic in steps, each held for
// stepDuration and judged like the verification after a switch, before the next one; the last step is
// the full switch. Off when the key is missing.
import { describeValue } from '../common/describe.js';
import { ValidationError } from '../common/errors.js';
import type { ObjectReader } from './reader.js';

export interface CanaryGateConfig {
  /** Per cents of the public clients the new color gets, one step after the other; rising, each in (0, 100). */
  steps: number[];
  /** How long each step lasts before it is judged. @default 1m */
  stepDurationMs: number;
}

const MAX_STEPS = 10;
const MIN_STEP_MS = 1_000;

export function readCanary(r: ObjectReader): CanaryGateConfig {
  const canary = { steps: readSteps(r), stepDurationMs: r.durationMs('stepDuration', '1m') };
  if (canary.stepDurationMs < MIN_STEP_MS) {
    throw new ValidationError(
      r.keyPath('stepDuration'),
      `must be at least 1s, got ${describeValue(r.raw('stepDuration'))}`,
    );
  }
  r.rejectUnknown();
  return canary;
}

function readSteps(r: ObjectReader): number[] {
  const value = r.raw('steps');
  const key = r.keyPath('steps');
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_STEPS) {
    throw new ValidationError(
      key,
      `must be a list of 1 to ${MAX_STEPS} per cents like [10, 50], got ${describeValue(value)}`,
    );
  }
  return value.map((step: unknown, i) => {
    const previous = i === 0 ? 0 : (value[i - 1] as number);
    if (typeof step !== 'number' || !Number.isFinite(step) || step <= 0 || step >= 100) {
      throw new ValidationError(`${key}[${i}]`, `must be a per cent above 0 and below 100, got ${describeValue(step)}`);
    }
    if (step <= previous) {
      throw new ValidationError(`${key}[${i}]`, `must be larger than the step before it (${previous}), got ${step}`);
    }
    // The proxy splits clients in hundredths of a per cent (proxy/sticky.ts).
    if (Math.round(step * 100) !== step * 100) {
      throw new ValidationError(`${key}[${i}]`, `may have at most two decimals, got ${describeValue(step)}`);
    }
    return step;
  });
}
