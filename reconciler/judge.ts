// The verification gate's judge: a pure function from what a color did over a window (the proxy's
// own measurements, proxy/meter.ts) and the thresholds of gates.verify to a verdict in words and
// numbers. The verifier after a switch and each canary step use the same judge; only who acts on
// the answer differs.
import { quantile } from '../common/latency.js';
import type { TrafficWindow } from '../common/traffic.js';

export interface VerifyThresholds {
  /** How long after a switch the new color is watched. @default 2m */
  windowMs: number;
  /** Fewer requests than this in the window decide nothing. @default 50 */
  minRequests: number;
  /** A fraction: 0.01 is `maxErrorRate: 1%`. @default 0.01 */
  maxErrorRate: number;
  /** @default 2s */
  maxP99Seconds: number;
  /**
   * At the end of a window with too few requests: pass, or hold (keep watching until there are
   * enough). @default pass
   */
  onTooFew: 'pass' | 'hold';
}

export interface Measured {
  requests: number;
  errors: number;
  /** errors / requests; 0 without requests. */
  errorRate: number;
  /** Null without an answered request. */
  p99Seconds: number | null;
  seconds: number;
}

/**
 * failed: a threshold is exceeded (decided as soon as there are enough requests); passed: the
 * window is over and none is; too_few: the window is over with fewer than minRequests; pending:
 * not decided yet.
 */
export type Judgement =
  | { verdict: 'failed'; reason: string; measured: Measured }
  | { verdict: 'passed'; reason: string; measured: Measured }
  | { verdict: 'too_few'; reason: string; measured: Measured }
  | { verdict: 'pending'; reason: string; measured: Measured };

/** Judges `window`; `over`: the window has ended, so what has not failed passes (or had too few requests). */
export function judge(window: TrafficWindow, t: VerifyThresholds, over: boolean): Judgement {
  const measured = measure(window);
  const rate = errorRate(measured);
  const p99 = measured.p99Seconds === null ? null : `p99 ${seconds(measured.p99Seconds)}`;
  const span = `over ${Math.round(measured.seconds)} s`;
  if (measured.requests < t.minRequests) {
    const reason = `too few requests: ${measured.requests} of ${t.minRequests} ${span} (${rate})`;
    return { verdict: over ? 'too_few' : 'pending', reason, measured };
  }
  if (measured.errorRate > t.maxErrorRate)
    return { verdict: 'failed', reason: `${rate} > ${percent(t.maxErrorRate)} ${span}`, measured };
  if (measured.p99Seconds !== null && measured.p99Seconds > t.maxP99Seconds) {
    const reason = `${p99} > ${seconds(t.maxP99Seconds)} (${measured.requests} requests) ${span}`;
    return { verdict: 'failed', reason, measured };
  }
  const within = `${rate} <= ${percent(t.maxErrorRate)}, ${p99 ?? 'no answers'} <= ${seconds(t.maxP99Seconds)} ${span}`;
  return { verdict: over ? 'passed' : 'pending', reason: within, measured };
}

export function measure(window: TrafficWindow): Measured {
  return {
    requests: window.requests,
    errors: window.errors,
    errorRate: window.requests === 0 ? 0 : window.errors / window.requests,
    p99Seconds: quantile(window.latency, 0.99),
    seconds: window.seconds,
  };
}

/** The numbers a gate result and an event carry (GateResult.measured). */
export function measuredNumbers(m: Measured): Record<string, number> {
  return {
    requests: m.requests,
    errors: m.errors,
    errorRate: m.errorRate,
    ...(m.p99Seconds === null ? {} : { p99Seconds: m.p99Seconds }),
    seconds: Math.round(m.seconds),
  };
}

function errorRate(m: Measured): string {
  return `error rate ${percent(m.errorRate)} (${m.errors} of ${m.requests})`;
}

/** 0.375 -> `37.5%`, 0.01 -> `1%`: at most two decimals, no trailing zeros. */
export function percent(fraction: number): string {
  return `${Number((fraction * 100).toFixed(2))}%`;
}

/** 2 -> `2 s`, 0.1234 -> `0.123 s`. */
function seconds(value: number): string {
  return `${Number(value.toFixed(3))} s`;
}
