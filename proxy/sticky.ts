// Which clients a canary serves. A client carries its bucket (0..9999) in a cookie, and a canary at
// w% serves the buckets below w*100: a client keeps its color for a whole step, and a client on the
// canary stays on it as the share grows (10% -> 50% -> 100%). New clients get their buckets from a
// low-discrepancy sequence (golden-ratio steps from a random start) instead of at random, so among
// any N new clients the canary's share is off by about a client, not by sqrt(N) of them.
// The cookie is read only while a canary runs: outside one it chooses nothing, so no value of it
// can reach a color that does not serve public traffic. During a canary a client that edits it can
// pick one of the two colors that both serve the public anyway. It is the proxy's alone: it is taken
// off the request before the backend sees it.
import { randomInt } from 'node:crypto';

export const CANARY_COOKIE = 'hypervisor_canary';
/** The share granularity: a weight of 12.34% is 1234 buckets. */
export const BUCKETS = 10_000;
const BUCKET = /^\d{1,4}$/;
/** Longer than any rollout, so one user keeps one bucket across a canary and the next. */
const MAX_AGE_S = 30 * 24 * 3600;
/** 1/phi: consecutive multiples of it, modulo 1, spread as evenly as any sequence can. */
const GOLDEN = (Math.sqrt(5) - 1) / 2;

export interface CanaryClient {
  bucket: number;
  /** The Set-Cookie value for a client that came without a usable bucket; null when it had one. */
  setCookie: string | null;
}

/** Whether a client in `bucket` goes to a canary that has `weight` per cent of the clients. */
export function inCanary(bucket: number, weight: number): boolean {
  return bucket < Math.round(weight * (BUCKETS / 100));
}

/** Hands out buckets to new clients and reads the ones clients bring back. */
export class StickyBuckets {
  #next: number;

  constructor(start: number = randomInt(BUCKETS)) {
    this.#next = start / BUCKETS;
  }

  /** The client's bucket from its Cookie header, or a new one (and its Set-Cookie) when it has none. */
  client(cookieHeader: string | string[] | undefined, secure: boolean): CanaryClient {
    const known = bucketFrom(cookieHeader);
    if (known !== null) return { bucket: known, setCookie: null };
    const bucket = this.#take();
    const attributes = `Path=/; Max-Age=${MAX_AGE_S}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;
    return { bucket, setCookie: `${CANARY_COOKIE}=${bucket}; ${attributes}` };
  }

  #take(): number {
    this.#next = (this.#next + GOLDEN) % 1;
    return Math.min(BUCKETS - 1, Math.floor(this.#next * BUCKETS));
  }
}

function bucketFrom(header: string | string[] | undefined): number | null {
  for (const line of Array.isArray(header) ? header : header === undefined ? [] : [header]) {
    for (const pair of line.split(';')) {
      const eq = pair.indexOf('=');
      if (eq < 0 || pair.slice(0, eq).trim() !== CANARY_COOKIE) continue;
      const value = pair.slice(eq + 1).trim();
      if (BUCKET.test(value)) return Number(value);
    }
  }
  return null;
}

/** A Cookie header value without our cookie; null when nothing else is left in it. */
export function withoutCanaryCookie(value: string): string | null {
  if (!value.includes(CANARY_COOKIE)) return value;
  const kept = value
    .split(';')
    .map((pair) => pair.trim())
    .filter((pair) => pair !== '' && pair.split('=', 1)[0]!.trim() !== CANARY_COOKIE);
  return kept.length === 0 ? null : kept.join('; ');
}
