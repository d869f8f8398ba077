// Each running color's health, probed on a cadence of its own: never more than health.interval
// after the last probe started, whether a pass runs or not (a pass may take long, and the pass
// interval may be longer), so a color that stalls is out of public routing within
// interval x failureThreshold + timeout. It is the one place probes are recorded: a pass's probe
// goes into the same history (and restarts the cadence), so the loop and the data plane never
// disagree about a color. After each probe the failover rule (failover.ts) tells the router to
// take the color out or put it back. Probes go through the one probe path, units/health.ts.
import type { Color, NewEvent } from '../common/types.js';
import type { HealthConfig } from '../config/config.js';
import { probeHealth, type ProbeResult } from '../units/health.js';
import { failoverEvents, routingVerdict } from './failover.js';
import { afterProbe, freshHistory, sameProcess, type HealthHistory, type ProbeTarget } from './health-history.js';
import type { TrafficRouter } from './ports.js';

/** Time for the watch: a clock and one-shot timers (a test injects its own to drive the cadence). */
export interface WatchClock {
  now(): number;
  /** Runs `fn` once after `ms`; the returned function cancels it. */
  after(ms: number, fn: () => void): () => void;
}

export const systemClock: WatchClock = {
  now: () => Date.now(),
  after: (ms, fn) => {
    const timer = setTimeout(fn, ms);
    // The daemon's listeners keep it alive; a probe timer alone must not.
    timer.unref();
    return () => clearTimeout(timer);
  },
};

export type Prober = (target: ProbeTarget) => Promise<ProbeResult>;

export interface HealthWatchOptions {
  health: HealthConfig;
  router: TrafficRouter;
  /** @default systemClock */
  clock?: WatchClock;
  /** @default probeHealth (units/health.ts) with the configured paths and timeout */
  probe?: Prober;
  /** Told each change of the router's failover as events (FailedOver, FailedBack). */
  onFailover?: (event: NewEvent) => void;
}

interface Watched {
  history: HealthHistory;
  probing: Promise<HealthHistory> | null;
  cancelTimer: (() => void) | null;
}

export class HealthWatch {
  readonly #health: HealthConfig;
  readonly #router: TrafficRouter;
  readonly #clock: WatchClock;
  readonly #probe: Prober;
  readonly #watched = new Map<Color, Watched>();
  readonly #unsubscribe: () => void;
  #running = false;

  constructor(options: HealthWatchOptions) {
    this.#health = options.health;
    this.#router = options.router;
    this.#clock = options.clock ?? systemClock;
    const { readyPath, versionPath, timeoutMs } = options.health;
    this.#probe =
      options.probe ??
      ((t) => probeHealth({ port: t.port, readyPath, versionPath, expectedVersion: t.version, timeoutMs }));
    const onFailover = options.onFailover;
    this.#unsubscribe = onFailover
      ? options.router.onFailover((now, before) => {
          for (const event of failoverEvents(now, before, options.router)) onFailover(event);
        })
      : () => undefined;
  }

  /** From now on every watched color is probed each health.interval, passes or not. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    for (const [color, watched] of this.#watched) this.#schedule(color, watched);
  }

  /** Stops the cadence and waits for the probes in flight. */
  async close(): Promise<void> {
    this.#running = false;
    this.#unsubscribe();
    const probing: Array<Promise<unknown>> = [];
    for (const watched of this.#watched.values()) {
      watched.cancelTimer?.();
      watched.cancelTimer = null;
      if (watched.probing) probing.push(watched.probing);
    }
    await Promise.all(probing);
  }

  /** A pass's sight of what runs: a new MainPID starts a fresh history, nothing running ends it. */
  sync(color: Color, target: ProbeTarget | null): void {
    const watched = this.#watched.get(color);
    if (target !== null && watched && sameProcess(watched.history.target, target)) {
      watched.history = { ...watched.history, target };
      return;
    }
    this.forget(color);
    if (target === null) return;
    const fresh: Watched = { history: freshHistory(target, this.#clock.now()), probing: null, cancelTimer: null };
    this.#watched.set(color, fresh);
    this.#schedule(color, fresh);
  }

  /** A pass's probe, recorded (or the one in flight, joined): the color's history after it. */
  probe(color: Color): Promise<HealthHistory | null> {
    const watched = this.#watched.get(color);
    return watched ? this.#record(color, watched) : Promise.resolve(null);
  }

  /** The history as it stands, without probing; null for a color not running. */
  history(color: Color): HealthHistory | null {
    return this.#watched.get(color)?.history ?? null;
  }

  /** A deploy, start or stop: the color's next sight starts a fresh history. */
  forget(color: Color): void {
    const watched = this.#watched.get(color);
    if (!watched) return;
    watched.cancelTimer?.();
    this.#watched.delete(color);
  }

  /** One probe recorded nowhere: a reader's, or the check right before traffic moves. */
  probeOnce(target: ProbeTarget): Promise<ProbeResult> {
    return this.#probe(target);
  }

  #record(color: Color, watched: Watched): Promise<HealthHistory> {
    if (watched.probing) return watched.probing;
    watched.cancelTimer?.();
    watched.cancelTimer = null;
    const startedAt = this.#clock.now();
    watched.probing = this.#probeNeverThrowing(watched.history.target).then((result) => {
      watched.probing = null;
      watched.history = afterProbe(watched.history, result, startedAt);
      // A history a newer sight replaced is only finished, never judged: it is not what runs.
      if (this.#watched.get(color) === watched) {
        this.#judge(color, watched.history);
        this.#schedule(color, watched);
      }
      return watched.history;
    });
    return watched.probing;
  }

  /** probeHealth never throws; a probe given by a test might, and a rejection must not stop the cadence. */
  async #probeNeverThrowing(target: ProbeTarget): Promise<ProbeResult> {
    try {
      return await this.#probe(target);
    } catch (err) {
      return { ready: false, version: null, reason: `the probe failed: ${(err as Error).message}`, timedOut: false };
    }
  }

  /** The next probe, one interval after the start of the last (at once before the first). */
  #schedule(color: Color, watched: Watched): void {
    if (!this.#running || watched.probing) return;
    watched.cancelTimer?.();
    const last = watched.history.lastProbeAt;
    const wait = last === null ? 0 : Math.max(0, last + this.#health.intervalMs - this.#clock.now());
    watched.cancelTimer = this.#clock.after(wait, () => {
      watched.cancelTimer = null;
      if (this.#running && this.#watched.get(color) === watched) void this.#record(color, watched);
    });
  }

  #judge(color: Color, history: HealthHistory): void {
    const verdict = routingVerdict(color, history, this.#health);
    switch (verdict.kind) {
      case 'out':
        this.#router.takeOut(color, verdict.why);
        return;
      case 'in':
        this.#router.putBack(color);
        return;
      case 'keep':
        return;
      default: {
        const never: never = verdict;
        throw new Error(`unknown verdict ${JSON.stringify(never)}`);
      }
    }
  }
}
