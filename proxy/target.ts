// One backend the proxy sends requests to: a color on a loopback port, its connection pool and the
// count of requests (and websockets) still running on it, so a switch can drain it.
import type { Pool } from 'undici';
import { ValidationError } from '../common/errors.js';
import { isColor, type Color } from '../common/types.js';
import type { PoolLease } from './pools.js';

/** serving: picked for new requests. draining: only finishing what it has. closed: pool closed. */
export type TargetState = 'serving' | 'draining' | 'closed';

export interface TargetOptions {
  /**
   * Idle time after which a pooled connection is dropped, when the backend gives no `Keep-Alive`
   * hint. Below common backend idle timeouts (node 5s), so we never reuse a socket the backend
   * has already closed. @default 4000
   */
  keepAliveTimeoutMs?: number;
  /** Subtracted from the backend's `Keep-Alive: timeout=N` hint, for the same reason. @default 1000 */
  keepAliveThresholdMs?: number;
  /** Upper bound for the hinted idle time. @default 60000 */
  keepAliveMaxTimeoutMs?: number;
  /** Deadline to open a connection to the backend (answer: 504). @default 5000 */
  connectTimeoutMs?: number;
  /**
   * Deadline for the backend's response headers (answer: 504). undici checks it on a coarse
   * timer, so it fires up to ~1s late. @default 60000
   */
  responseTimeoutMs?: number;
  /** Longest silence between two body chunks of a response; 0 disables. @default 300000 */
  bodyTimeoutMs?: number;
  /** Most connections the pool opens to this backend; more requests queue. @default 256 */
  connections?: number;
}

export interface DrainResult {
  color: Color;
  port: number;
  /** True when every request had finished before the deadline. */
  idle: boolean;
  /** Requests still running when the drain gave up waiting (websockets it closed not counted). */
  inFlight: number;
  /** Websockets still open at the deadline, which the drain then closed (code 1012). */
  closedWebSockets: number;
  waitedMs: number;
}

/** A long-lived exchange (an open websocket): a drain closes it at its deadline instead of waiting on. */
export interface Session {
  close(reason: string): void;
}

const DEFAULTS: Required<TargetOptions> = {
  keepAliveTimeoutMs: 4_000,
  keepAliveThresholdMs: 1_000,
  keepAliveMaxTimeoutMs: 60_000,
  connectTimeoutMs: 5_000,
  responseTimeoutMs: 60_000,
  bodyTimeoutMs: 300_000,
  connections: 256,
};

/** Closing idle sockets is quick; this only guards against a pool that never reports back. */
const IDLE_CLOSE_DEADLINE_MS = 2_000;
/** How long closed websockets get to finish their close handshake before the drain reports. */
const SESSION_CLOSE_GRACE_MS = 2_500;

export class Target {
  readonly color: Color;
  readonly port: number;
  readonly host = '127.0.0.1' as const;
  readonly origin: string;
  /** Shared with any other target of the same backend (a switch back while this one drains). */
  readonly pool: Pool;
  /** Also the deadline of a websocket handshake, which does not go through the pool. */
  readonly responseTimeoutMs: number;
  readonly #poolLease: PoolLease;
  #inFlight = 0;
  #state: TargetState = 'serving';
  #idleWaiters = new Set<() => void>();
  #sessions = new Set<Session>();
  #drain: Promise<DrainResult> | null = null;

  /** `pools` hands out the connection pool for this backend; `responseTimeoutMs` as in TargetOptions. */
  constructor(color: Color, port: number, pools: { lease(origin: string): PoolLease }, responseTimeoutMs: number) {
    checkTarget(color, port);
    this.color = color;
    this.port = port;
    this.origin = `http://${this.host}:${port}`;
    this.responseTimeoutMs = responseTimeoutMs;
    this.#poolLease = pools.lease(this.origin);
    this.pool = this.#poolLease.pool;
  }

  get state(): TargetState {
    return this.#state;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  matches(color: Color, port: number): boolean {
    return this.color === color && this.port === port;
  }

  /** Counts one request as running here; the returned function ends it (calling it twice is harmless). */
  acquire(): () => void {
    this.#inFlight += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#inFlight -= 1;
      if (this.#inFlight === 0) this.#wakeIdleWaiters();
    };
  }

  /** Registers an open websocket (already counted by `acquire`); the returned function forgets it. */
  track(session: Session): () => void {
    this.#sessions.add(session);
    return () => this.#sessions.delete(session);
  }

  /**
   * Waits until nothing runs here or the deadline passes, closes the websockets still open, then
   * lets go of the pool, which closes gracefully unless another target holds it: requests still
   * running finish on it, no new one may start. Never rejects; a second call shares the first.
   */
  drain(timeoutMs: number): Promise<DrainResult> {
    this.#drain ??= this.#runDrain(timeoutMs);
    return this.#drain;
  }

  /** Hard stop for shutdown: aborts whatever still runs on the pool (other holders are closing too). */
  async destroy(): Promise<void> {
    this.#state = 'closed';
    await this.pool.destroy().catch(() => undefined);
  }

  async #runDrain(timeoutMs: number): Promise<DrainResult> {
    if (this.#state === 'serving') this.#state = 'draining';
    const started = performance.now();
    const idle = await this.#waitIdle(timeoutMs);
    const closedWebSockets = idle ? 0 : this.#closeSessions();
    if (closedWebSockets > 0) await this.#waitIdle(SESSION_CLOSE_GRACE_MS);
    const inFlight = this.#inFlight;
    this.#state = 'closed';
    const closing = this.#poolLease.release();
    // With requests left, close() resolves only when they end, which may be never (a stream);
    // they keep their sockets either way, so we only wait when there is nothing left to wait for.
    if (idle) await withDeadline(closing, IDLE_CLOSE_DEADLINE_MS);
    const waitedMs = Math.round(performance.now() - started);
    return { color: this.color, port: this.port, idle, inFlight, closedWebSockets, waitedMs };
  }

  #closeSessions(): number {
    const sessions = [...this.#sessions];
    this.#sessions.clear();
    for (const session of sessions) session.close(`the ${this.color} backend is drained; reconnect`);
    return sessions.length;
  }

  #waitIdle(timeoutMs: number): Promise<boolean> {
    if (this.#inFlight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const onIdle = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.#idleWaiters.delete(onIdle);
        resolve(this.#inFlight === 0);
      }, timeoutMs);
      this.#idleWaiters.add(onIdle);
    });
  }

  #wakeIdleWaiters(): void {
    const waiters = [...this.#idleWaiters];
    this.#idleWaiters.clear();
    for (const wake of waiters) wake();
  }
}

export function checkTarget(color: unknown, port: unknown): void {
  if (!isColor(color)) throw new ValidationError('color', `must be blue or green, got ${String(color)}`);
  if (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65_535) {
    throw new ValidationError('port', `must be an integer from 1 to 65535, got ${String(port)}`);
  }
}

export function checkTargetOptions(options: TargetOptions): Required<TargetOptions> {
  const o = { ...DEFAULTS, ...stripUndefined(options) };
  for (const key of ['keepAliveTimeoutMs', 'keepAliveMaxTimeoutMs', 'connectTimeoutMs', 'responseTimeoutMs'] as const) {
    positive(key, o[key]);
  }
  nonNegative('keepAliveThresholdMs', o.keepAliveThresholdMs);
  nonNegative('bodyTimeoutMs', o.bodyTimeoutMs);
  if (!Number.isInteger(o.connections) || o.connections < 1) {
    throw new ValidationError('connections', `must be a positive integer, got ${String(o.connections)}`);
  }
  return o;
}

export function positive(path: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0) {
    throw new ValidationError(path, `must be a positive number of milliseconds, got ${String(value)}`);
  }
}

function nonNegative(path: string, value: number): void {
  if (!Number.isFinite(value) || value < 0) {
    throw new ValidationError(path, `must be zero or more milliseconds, got ${String(value)}`);
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Resolves when the promise settles or the deadline passes, whichever comes first. */
function withDeadline(promise: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    promise.then(done, done);
  });
}
