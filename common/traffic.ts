// What the proxy measures of each color, as its readers see it: the types of the readings, and a
// window as the difference of two readings. The proxy's meter (proxy/meter.ts) takes them on the
// request path; the metrics, the traffic history and the verification gate read them through
// TrafficReadings, so none of them needs the proxy itself.
import type { Color } from './types.js';

/** Why a backend did not answer: refused the connection, reset it, too slow, or an answer we cannot pass on. */
export type UpstreamFailureReason = 'refused' | 'reset' | 'timeout' | 'bad_response';
export const FAILURE_REASONS: readonly UpstreamFailureReason[] = ['refused', 'reset', 'timeout', 'bad_response'];

/** Methods get their own label; any other is counted as OTHER, so a client cannot grow the label set. */
export const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'OTHER'] as const;
export type MeteredMethod = (typeof METHODS)[number];

/** Cumulative since the daemon started; a window is the difference of two (windowBetween). */
export interface TrafficTotals {
  atMs: number;
  /** Requests this color answered (any status). */
  answered: number;
  /** Of those, answers with a 5xx status (the proxy's own 502/504 for this color included). */
  serverErrors: number;
  /** Requests this color refused or reset before answering, which the other color then took. */
  failedOver: number;
  /** Latency counts of the answered requests, per bucket of LATENCY_BOUNDS (+Inf last). */
  latency: readonly number[];
}

/** What a color did over a stretch of time: what the verification gate judges. */
export interface TrafficWindow {
  seconds: number;
  /** Requests sent to the color: the ones it answered and the ones it failed before answering. */
  requests: number;
  /** 5xx answers and connection failures. */
  errors: number;
  latency: readonly number[];
}

export interface MinuteView {
  /** ISO-8601 start of the minute. */
  start: string;
  requests: number;
  /** 5xx answers and connection failures. */
  errors: number;
  /** Null when the minute had no answered request. */
  p99Seconds: number | null;
}

/** The last hour, oldest minute first, the current (partial) minute last; minutes without traffic are zeros. */
export interface TrafficHistory {
  minutes: number;
  colors: Record<Color, MinuteView[]>;
}

/** What the proxy's meter lets its readers see. */
export interface TrafficReadings {
  totals(color: Color): TrafficTotals;
  /** Every (method, status) pair `color` answered at least once, with its count. */
  answers(color: Color): Array<{ method: MeteredMethod; code: number; count: number }>;
  failures(color: Color): Readonly<Record<UpstreamFailureReason, number>>;
  /** The latency histogram of `color`'s answers: counts per bucket, their sum in seconds, their number. */
  latency(color: Color): { counts: readonly number[]; sum: number; count: number };
  history(): TrafficHistory;
}

/** What `color` did between two readings of its totals. */
export function windowBetween(from: TrafficTotals, to: TrafficTotals): TrafficWindow {
  const failedOver = to.failedOver - from.failedOver;
  return {
    seconds: Math.max(0, (to.atMs - from.atMs) / 1000),
    requests: to.answered - from.answered + failedOver,
    errors: to.serverErrors - from.serverErrors + failedOver,
    latency: to.latency.map((n, i) => n - (from.latency[i] ?? 0)),
  };
}
