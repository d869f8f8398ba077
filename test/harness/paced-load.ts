// Open-loop HTTP load for tests that time a fault: a GET every `everyMs`, whether or not earlier
// ones were answered, so requests stuck on a stalled backend do not stop new ones from being sent.
// Each request keeps when it was sent and answered (performance.now(), the test's own clock) and
// what answered it. Bounded by time, by a request budget and by the requests waiting at once.
import { Pool } from 'undici';

export interface PacedLoadOptions {
  /** Loopback origin, e.g. http://127.0.0.1:8080. */
  origin: string;
  /** @default '/' */
  path?: string;
  everyMs: number;
  durationMs: number;
  maxRequests: number;
  /** Requests waiting at once; a tick that finds this many sends nothing (counted in `skipped`). */
  maxWaiting: number;
  /** The client's own deadline for one answer; a longer wait is a failure. */
  deadlineMs: number;
}

export interface PacedRequest {
  sentAt: number;
  /** Null while it waits. */
  answeredAt: number | null;
  /** Null while it waits, or when no answer came (then `error` says why). */
  status: number | null;
  body: string;
  error: string | null;
}

export interface PacedLoad {
  /** Every request so far, in the order they were sent. */
  readonly requests: readonly PacedRequest[];
  /** Ticks that sent nothing because `maxWaiting` requests were waiting. */
  readonly skipped: number;
  /**
   * Stops sending, waits for the requests still out, closes the client; resolves with every request.
   * A second call shares the first.
   */
  stop(): Promise<readonly PacedRequest[]>;
}

export function startPacedLoad(options: PacedLoadOptions): PacedLoad {
  const pool = new Pool(options.origin, { connections: options.maxWaiting, pipelining: 1 });
  const requests: PacedRequest[] = [];
  const out = new Set<Promise<void>>();
  const until = performance.now() + options.durationMs;
  let skipped = 0;
  let stopping: Promise<readonly PacedRequest[]> | null = null;

  const send = async (request: PacedRequest): Promise<void> => {
    try {
      const response = await pool.request({
        method: 'GET',
        path: options.path ?? '/',
        headersTimeout: options.deadlineMs,
        bodyTimeout: options.deadlineMs,
      });
      request.body = await response.body.text();
      request.status = response.statusCode;
    } catch (err) {
      request.error = `${(err as { code?: string }).code ?? ''} ${(err as Error).message}`.trim();
    }
    request.answeredAt = performance.now();
  };
  const tick = (): void => {
    if (performance.now() >= until || requests.length >= options.maxRequests) return void clearInterval(timer);
    if (out.size >= options.maxWaiting) return void (skipped += 1);
    const request: PacedRequest = { sentAt: performance.now(), answeredAt: null, status: null, body: '', error: null };
    requests.push(request);
    const sending = send(request).finally(() => out.delete(sending));
    out.add(sending);
  };
  const timer = setInterval(tick, options.everyMs);

  return {
    requests,
    get skipped() {
      return skipped;
    },
    stop: () => {
      stopping ??= (async () => {
        clearInterval(timer);
        await Promise.all([...out]);
        await pool.close();
        return requests;
      })();
      return stopping;
    },
  };
}
