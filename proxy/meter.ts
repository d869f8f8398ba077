// The proxy's own measurements of each color, taken on the request path: answers by method and
// status, latency, upstream failures, and a ring of per-minute buckets for the last hour. Every
// count is a number in a preallocated array, indexed without building a key, so measuring costs a
// few additions per request. Readers (Prometheus, the traffic history, the verification gate) get
// copies; a window is the difference of two readings of the cumulative totals.
import { bucketOf, LATENCY_BUCKETS, quantile } from '../common/latency.js';
import {
  METHODS,
  type MeteredMethod,
  type MinuteView,
  type TrafficHistory,
  type TrafficReadings,
  type TrafficTotals,
  type UpstreamFailureReason,
} from '../common/traffic.js';
import { COLORS, type Color } from '../common/types.js';

/** A response the client never got the head of (it left first): nginx's word for it. */
export const CLIENT_CLOSED = 499;

const CODES = 600;
const MINUTE_MS = 60_000;
const HISTORY_MINUTES = 60;

export interface MeterOptions {
  /**
   * Monotonic milliseconds: latency and windows. One clock read per request end is the costliest
   * part of measuring (a few hundred ns on a virtual machine), so the minute of the history is
   * derived from it too rather than from a second read of the wall clock. @default performance.now
   */
  now?: () => number;
  /** Wall-clock milliseconds when now() read 0. @default performance.timeOrigin */
  origin?: number;
}

interface Minute {
  minute: number;
  requests: number;
  errors: number;
  latency: Float64Array;
}

class ColorTraffic {
  readonly answers = new Float64Array(METHODS.length * CODES);
  readonly latency = new Float64Array(LATENCY_BUCKETS);
  latencySum = 0;
  answered = 0;
  serverErrors = 0;
  failedOver = 0;
  readonly failures: Record<UpstreamFailureReason, number> = { refused: 0, reset: 0, timeout: 0, bad_response: 0 };
  readonly minutes: Minute[] = Array.from({ length: HISTORY_MINUTES }, () => ({
    minute: -1,
    requests: 0,
    errors: 0,
    latency: new Float64Array(LATENCY_BUCKETS),
  }));
}

export class TrafficMeter implements TrafficReadings {
  readonly #now: () => number;
  readonly #origin: number;
  readonly #colors: Record<Color, ColorTraffic> = { blue: new ColorTraffic(), green: new ColorTraffic() };

  constructor(options: MeterOptions = {}) {
    this.#now = options.now ?? (() => performance.now());
    this.#origin = options.origin ?? performance.timeOrigin;
  }

  /** The clock to take a request's start from (answered() measures its latency from it). */
  now(): number {
    return this.#now();
  }

  /** One response of `color` is over (or the client left: CLIENT_CLOSED); `started` is a now() reading. */
  answered(color: Color, method: string | undefined, status: number, started: number): void {
    const c = this.#colors[color];
    const now = this.#now();
    const seconds = (now - started) / 1000;
    const code = status >= 0 && status < CODES ? status | 0 : 0;
    c.answers[methodIndex(method) * CODES + code]! += 1;
    const bucket = bucketOf(seconds);
    c.latency[bucket]! += 1;
    c.latencySum += seconds;
    c.answered += 1;
    const error = code >= 500 ? 1 : 0;
    c.serverErrors += error;
    const minute = this.#minute(c, now);
    minute.requests += 1;
    minute.errors += error;
    minute.latency[bucket]! += 1;
  }

  /** `color` failed a request before answering it; `failedOver`: the other color then took it. */
  failed(color: Color, reason: UpstreamFailureReason, failedOver: boolean): void {
    const c = this.#colors[color];
    c.failures[reason] += 1;
    if (!failedOver) return; // its 5xx answer is counted by answered()
    c.failedOver += 1;
    const minute = this.#minute(c, this.#now());
    minute.requests += 1;
    minute.errors += 1;
  }

  totals(color: Color): TrafficTotals {
    const c = this.#colors[color];
    return {
      atMs: this.#now(),
      answered: c.answered,
      serverErrors: c.serverErrors,
      failedOver: c.failedOver,
      latency: [...c.latency],
    };
  }

  /** Every (method, status) pair `color` answered at least once, with its count. */
  answers(color: Color): Array<{ method: MeteredMethod; code: number; count: number }> {
    const { answers } = this.#colors[color];
    const found: Array<{ method: MeteredMethod; code: number; count: number }> = [];
    for (let i = 0; i < answers.length; i += 1) {
      const count = answers[i] as number;
      if (count > 0) found.push({ method: METHODS[Math.floor(i / CODES)]!, code: i % CODES, count });
    }
    return found;
  }

  failures(color: Color): Readonly<Record<UpstreamFailureReason, number>> {
    return { ...this.#colors[color].failures };
  }

  /** The latency histogram of `color`'s answers: counts per bucket, their sum in seconds, their number. */
  latency(color: Color): { counts: readonly number[]; sum: number; count: number } {
    const c = this.#colors[color];
    return { counts: [...c.latency], sum: c.latencySum, count: c.answered };
  }

  history(): TrafficHistory {
    const current = this.#minuteOf(this.#now());
    const colors = {} as Record<Color, MinuteView[]>;
    for (const color of COLORS) {
      const ring = this.#colors[color].minutes;
      colors[color] = [];
      for (let minute = current - HISTORY_MINUTES + 1; minute <= current; minute += 1) {
        const slot = ring[minute % HISTORY_MINUTES]!;
        const seen = slot.minute === minute;
        colors[color].push({
          start: new Date(minute * MINUTE_MS).toISOString(),
          requests: seen ? slot.requests : 0,
          errors: seen ? slot.errors : 0,
          p99Seconds: seen ? quantile(slot.latency, 0.99) : null,
        });
      }
    }
    return { minutes: HISTORY_MINUTES, colors };
  }

  #minuteOf(now: number): number {
    return Math.floor((this.#origin + now) / MINUTE_MS);
  }

  /** The bucket of the minute of `now`, emptied first when it last held a minute an hour or more ago. */
  #minute(c: ColorTraffic, now: number): Minute {
    const minute = this.#minuteOf(now);
    const slot = c.minutes[minute % HISTORY_MINUTES]!;
    if (slot.minute !== minute) {
      slot.minute = minute;
      slot.requests = 0;
      slot.errors = 0;
      slot.latency.fill(0);
    }
    return slot;
  }
}

function methodIndex(method: string | undefined): number {
  switch (method) {
    case 'GET':
      return 0;
    case 'HEAD':
      return 1;
    case 'POST':
      return 2;
    case 'PUT':
      return 3;
    case 'PATCH':
      return 4;
    case 'DELETE':
      return 5;
    case 'OPTIONS':
      return 6;
    default:
      return 7;
  }
}
