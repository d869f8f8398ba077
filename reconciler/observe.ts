// Reads the world again for every pass: both units, their health, the proxy's route, the release
// records of the desired tags and the jobs in flight. The only memory kept between passes is health
// history per MainPID (failures in a row, whether it was ever Ready, since when it runs) and the
// self-heal restarts the reconciler ordered: facts about the past that no single probe can give.
// Only a pass records into that memory; a reader (GET /plan) peeks: it probes afresh and sees what
// a pass would conclude now, but its probes count for nothing, so reading never hastens a restart.
import { existsSync } from 'node:fs';
import { HypervisorError } from '../common/errors.js';
import { COLORS, type Color, type DesiredDoc, type ReleaseRecord } from '../common/types.js';
import { isRunning } from '../common/unit-state.js';
import type { HealthConfig } from '../config/config.js';
import type { UnitDriver, UnitObservation } from '../units/driver.js';
import { probeHealth } from '../units/health.js';
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

interface HealthMemory {
  mainPid: number | null;
  firstSeenAt: number;
  consecutiveFailures: number;
  wasReady: boolean;
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
  now?: () => number;
}

/** record: a pass, whose probes count. peek: a reader, whose probes count for nothing. */
type Mode = 'record' | 'peek';

export class Observer {
  readonly #options: ObserverOptions;
  readonly #now: () => number;
  readonly #health = new Map<Color, HealthMemory>();
  readonly #heal = new Map<Color, HealMemory>();

  constructor(options: ObserverOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
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
    const health = await this.#probe(await this.#options.driver.observe(color));
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
    return {
      colors: { blue: blue!, green: green! },
      routed: this.#options.router.activeColor(),
      preview: this.#options.router.previewColor(),
      releases,
      jobs: this.#options.jobs(),
      missingArtifacts,
    };
  }

  /** The reconciler restarted a color to heal it: count it for the backoff. */
  noteHealRestart(color: Color): void {
    const memory = this.#heal.get(color) ?? { restarts: 0, lastAt: null };
    this.#heal.set(color, { restarts: memory.restarts + 1, lastAt: this.#now() });
  }

  /** A deploy or an operator action starts a fresh history for the color. */
  forget(color: Color): void {
    this.#health.delete(color);
    this.#heal.delete(color);
  }

  async #observeColor(color: Color, mode: Mode): Promise<ColorObservation> {
    const unit = await this.#options.driver.observe(color);
    const now = this.#now();
    const health = await this.#probe(unit);
    const memory = nextMemory(this.#health.get(color), unit, health, now);
    const heal = this.#heal.get(color) ?? { restarts: 0, lastAt: null };
    if (mode === 'record') {
      this.#health.set(color, memory);
      // Ready again after self-heal restarts: the next trouble starts its backoff from the beginning.
      if (health?.ready && memory.consecutiveFailures === 0 && heal.restarts > 0) this.#heal.delete(color);
    }
    return {
      unit,
      health,
      consecutiveFailures: memory.consecutiveFailures,
      wasReady: memory.wasReady,
      runningForMs: memory.mainPid === null ? 0 : now - memory.firstSeenAt,
      healRestarts: heal.restarts,
      sinceHealRestartMs: heal.lastAt === null ? null : now - heal.lastAt,
    };
  }

  async #probe(unit: UnitObservation): Promise<HealthObservation | null> {
    if (!isRunning(unit) || unit.installed === null) return null;
    const { readyPath, versionPath, timeoutMs } = this.#options.health;
    return probeHealth({
      port: unit.installed.port,
      readyPath,
      versionPath,
      expectedVersion: unit.installed.version,
      timeoutMs,
    });
  }
}

/** The health history after one more probe of a unit (a new MainPID starts a fresh one). */
function nextMemory(
  previous: HealthMemory | undefined,
  unit: UnitObservation,
  health: HealthObservation | null,
  now: number,
): HealthMemory {
  const pid = isRunning(unit) ? unit.mainPid : null;
  const memory =
    previous && previous.mainPid === pid
      ? previous
      : { mainPid: pid, firstSeenAt: now, consecutiveFailures: 0, wasReady: false };
  if (health?.ready) return { ...memory, consecutiveFailures: 0, wasReady: true };
  if (health) return { ...memory, consecutiveFailures: memory.consecutiveFailures + 1 };
  return memory;
}
