// Reads the world again for every pass: both units, their health, the proxy's route, the release
// records of the desired tags and the jobs in flight. Health history (failures in a row, whether a
// MainPID was ever Ready, since when it runs) lives in the health watch, which also probes each
// running color on its own cadence between passes and moves public traffic off a color that stops
// answering; a pass's probe goes into the same history, so the loop and the data plane judge a
// color alike. The observer itself remembers only the self-heal restarts the reconciler ordered.
// A reader (GET /plan) peeks: it probes afresh and sees what a pass would conclude now, but its
// probes count for nothing, so reading never hastens a restart.
import { existsSync } from 'node:fs';
import { HypervisorError } from '../common/errors.js';
import { COLORS, type Color, type DesiredDoc, type NewEvent, type ReleaseRecord } from '../common/types.js';
import { isRunning } from '../common/unit-state.js';
import type { HealthConfig } from '../config/config.js';
import type { UnitDriver, UnitObservation } from '../units/driver.js';
import { afterProbe, freshHistory, sameProcess, type HealthHistory, type ProbeTarget } from './health-history.js';
import { HealthWatch, systemClock, type Prober, type WatchClock } from './health-watch.js';
import type { TrafficRouter } from './ports.js';
import type { ColorObservation, HealthObservation, Observed } from './types.js';

/** A color that a pass saw Ready no longer is when traffic is about to move to it. */
export class NotReadyError extends HypervisorError {
  readonly color: Color;
  constructor(color: Color, reason: string) {
    super('not_ready', `${color} is not Ready any more (${reason}); traffic stays where it is`);
    this.color = color;
  }
}

interface HealMemory {
  restarts: number;
  lastAt: number | null;
}

export interface ObserverOptions {
  driver: UnitDriver;
  router: TrafficRouter;
  health: HealthConfig;
  getRelease(tag: string): Promise<ReleaseRecord | null>;
  jobs(): ReadonlySet<string>;
  /** Tags whose smoke gate is queued or running. */
  smokes(): ReadonlySet<string>;
  /** Time for the health watch's cadence and the histories. @default the system clock, read with `now` */
  clock?: WatchClock;
  /** The loop's clock, when no `clock` is given (the watch's timers stay the system's). @default Date.now */
  now?: () => number;
  /** The probe, for a test that drives the watch on its clock. @default units/health.ts */
  probe?: Prober;
  /** Each change of the data plane's failover, as an event. */
  onFailover?: (event: NewEvent) => void;
}

/** record: a pass, whose probes count. peek: a reader, whose probes count for nothing. */
type Mode = 'record' | 'peek';

export class Observer {
  readonly #options: ObserverOptions;
  readonly #clock: WatchClock;
  readonly #watch: HealthWatch;
  readonly #heal = new Map<Color, HealMemory>();

  constructor(options: ObserverOptions) {
    this.#options = options;
    this.#clock = options.clock ?? (options.now ? { now: options.now, after: systemClock.after } : systemClock);
    this.#watch = new HealthWatch({
      health: options.health,
      router: options.router,
      clock: this.#clock,
      probe: options.probe,
      onFailover: options.onFailover,
    });
  }

  /** The health watch probes on its own cadence from now on (the daemon's loop; tests may not). */
  startWatching(): void {
    this.#watch.start();
  }

  async close(): Promise<void> {
    await this.#watch.close();
  }

  /** A pass's observation: its probes are recorded (failures in a row, Ready once, heal history). */
  observe(desired: DesiredDoc): Promise<Observed> {
    return this.#observe(desired, 'record');
  }

  /** The observation a pass would make now, with fresh probes, leaving the memory as it was. */
  peek(desired: DesiredDoc): Promise<Observed> {
    return this.#observe(desired, 'peek');
  }

  /** One probe of a color as it runs now, recorded nowhere; throws NotReadyError unless it is Ready. */
  async confirmReady(color: Color): Promise<void> {
    const target = probeTarget(await this.#options.driver.observe(color));
    const health = target === null ? null : await this.#watch.probeOnce(target);
    if (!health?.ready) throw new NotReadyError(color, health?.reason ?? 'its unit is not running');
  }

  async #observe(desired: DesiredDoc, mode: Mode): Promise<Observed> {
    const [blue, green] = await Promise.all(COLORS.map((color) => this.#observeColor(color, mode)));
    const releases: Record<string, ReleaseRecord | undefined> = {};
    const missingArtifacts = new Set<string>();
    for (const color of COLORS) {
      const tag = desired.colors[color].tag;
      if (tag === null || tag in releases) continue;
      const release = (await this.#options.getRelease(tag)) ?? undefined;
      releases[tag] = release;
      if (release?.status === 'succeeded' && release.artifactPath !== null && !existsSync(release.artifactPath))
        missingArtifacts.add(tag);
    }
    const { router } = this.#options;
    return {
      colors: { blue: blue!, green: green! },
      routed: router.activeColor(),
      preview: router.previewColor(),
      serving: router.servingColor(),
      outOfRouting: { blue: router.outOfRouting('blue'), green: router.outOfRouting('green') },
      releases,
      jobs: this.#options.jobs(),
      smokes: this.#options.smokes(),
      missingArtifacts,
    };
  }

  /** The reconciler restarted a color to heal it: count it for the backoff. */
  noteHealRestart(color: Color): void {
    const memory = this.#heal.get(color) ?? { restarts: 0, lastAt: null };
    this.#heal.set(color, { restarts: memory.restarts + 1, lastAt: this.#clock.now() });
  }

  /** A deploy or an operator action starts a fresh history for the color. */
  forget(color: Color): void {
    this.#watch.forget(color);
    this.#heal.delete(color);
  }

  async #observeColor(color: Color, mode: Mode): Promise<ColorObservation> {
    const unit = await this.#options.driver.observe(color);
    const now = this.#clock.now();
    const target = probeTarget(unit);
    const history = mode === 'record' ? await this.#recorded(color, target) : await this.#peeked(color, target, now);
    const heal = this.#heal.get(color) ?? { restarts: 0, lastAt: null };
    const health: HealthObservation | null = history?.last ?? null;
    // Ready again after self-heal restarts: the next trouble starts its backoff from the beginning.
    if (mode === 'record' && health?.ready && heal.restarts > 0) this.#heal.delete(color);
    return {
      unit,
      health,
      consecutiveFailures: history?.consecutiveFailures ?? 0,
      wasReady: history?.wasReady ?? false,
      runningForMs: history === null ? 0 : now - history.firstSeenAt,
      healRestarts: heal.restarts,
      sinceHealRestartMs: heal.lastAt === null ? null : now - heal.lastAt,
    };
  }

  /** A pass: the watch learns what runs, and the probe counts in the color's one history. */
  #recorded(color: Color, target: ProbeTarget | null): Promise<HealthHistory | null> {
    this.#watch.sync(color, target);
    return this.#watch.probe(color);
  }

  /** A reader: a fresh probe, applied to a copy of the history, which stays as it was. */
  async #peeked(color: Color, target: ProbeTarget | null, now: number): Promise<HealthHistory | null> {
    if (target === null) return null;
    const kept = this.#watch.history(color);
    const base = kept && sameProcess(kept.target, target) ? kept : freshHistory(target, now);
    return afterProbe(base, await this.#watch.probeOnce(target), now);
  }
}

/** What a color's probe aims at while its unit runs; null when it does not (nothing to probe). */
function probeTarget(unit: UnitObservation): ProbeTarget | null {
  if (!isRunning(unit) || unit.installed === null) return null;
  return { mainPid: unit.mainPid, port: unit.installed.port, version: unit.installed.version };
}
