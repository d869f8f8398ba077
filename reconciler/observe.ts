// Reads the world again for every pass: both units, their health, the proxy's route, the release
// records of the desired tags and the jobs in flight. The only memory kept between passes is health
// history per MainPID (failures in a row, whether it was ever Ready, since when it runs) and the
// self-heal restarts the reconciler ordered: facts about the past that no single probe can give.
import { existsSync } from 'node:fs';
import { COLORS, type Color, type DesiredDoc, type ReleaseRecord } from '../common/types.js';
import type { HealthConfig } from '../config/config.js';
import type { UnitDriver, UnitObservation } from '../units/driver.js';
import { probeHealth } from '../units/health.js';
import type { TrafficRouter } from './ports.js';
import type { ColorObservation, HealthObservation, Observed } from './types.js';

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

const RUNNING = new Set(['active', 'reloading']);

export class Observer {
  readonly #options: ObserverOptions;
  readonly #now: () => number;
  readonly #health = new Map<Color, HealthMemory>();
  readonly #heal = new Map<Color, HealMemory>();

  constructor(options: ObserverOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  async observe(desired: DesiredDoc): Promise<Observed> {
    const [blue, green] = await Promise.all(COLORS.map((color) => this.#observeColor(color)));
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

  async #observeColor(color: Color): Promise<ColorObservation> {
    const unit = await this.#options.driver.observe(color);
    const now = this.#now();
    const health = await this.#probe(unit);
    const memory = this.#remember(color, unit, health, now);
    const heal = this.#heal.get(color) ?? { restarts: 0, lastAt: null };
    if (health?.ready && memory.consecutiveFailures === 0 && heal.restarts > 0) this.#heal.delete(color);
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
    if (!RUNNING.has(unit.activeState) || unit.installed === null) return null;
    const { readyPath, versionPath, timeoutMs } = this.#options.health;
    return probeHealth({
      port: unit.installed.port,
      readyPath,
      versionPath,
      expectedVersion: unit.installed.version,
      timeoutMs,
    });
  }

  #remember(color: Color, unit: UnitObservation, health: HealthObservation | null, now: number): HealthMemory {
    const pid = RUNNING.has(unit.activeState) ? unit.mainPid : null;
    let memory = this.#health.get(color);
    if (!memory || memory.mainPid !== pid) {
      memory = { mainPid: pid, firstSeenAt: now, consecutiveFailures: 0, wasReady: false };
    }
    if (health?.ready) {
      memory = { ...memory, consecutiveFailures: 0, wasReady: true };
    } else if (health) {
      memory = { ...memory, consecutiveFailures: memory.consecutiveFailures + 1 };
    }
    this.#health.set(color, memory);
    return memory;
  }
}
