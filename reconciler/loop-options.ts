// What the reconcile loop is built from (loop.ts): the store calls it makes, and the parts the daemon
// hands it. Kept apart so that loop.ts reads as the assembly alone.
import type { Config } from '../config/config.js';
import type { Store } from '../store/store.js';
import type { UnitDriver } from '../units/driver.js';
import type { CanaryOptions } from './canary-setup.js';
import type { LoopMetrics } from './metrics.js';
import type { BuildLeftovers, ReleaseBuilder, TrafficRouter } from './ports.js';
import type { SetTimer } from './reconciler.js';
import type { SmokeTester } from './smoke.js';

export type LoopStore = Pick<
  Store,
  | 'latestRevision'
  | 'getRelease'
  | 'createRelease'
  | 'updateRelease'
  | 'listReleases'
  | 'appendEvent'
  | 'listRevisions'
  | 'openDeployments'
  | 'startDeployment'
  | 'endDeployment'
  | 'recordGate'
>;

export interface LoopOptions {
  config: Pick<Config, 'app' | 'colors' | 'root' | 'reconcile'> & { gates?: Pick<Config['gates'], 'canary'> };
  store: LoopStore;
  driver: UnitDriver;
  router: TrafficRouter;
  builder: ReleaseBuilder;
  /** Clears what builds of a crashed daemon left (scripts, git, temp folders) before the first pass. */
  buildLeftovers?: BuildLeftovers;
  /** The smoke gate (smoke.ts); without it the gate is off and a Ready color is promotable at once. */
  smoke?: SmokeTester;
  /** The loop's clock: pass durations, status times, the observer's health memory. @default Date.now */
  now?: () => number;
  /** Starts the requeue timer. @default nodeTimer (reconciler.ts) */
  timer?: SetTimer;
  /** The judge and the rest gates.canary needs; without it (or the config) a switch moves all at once. */
  canary?: CanaryOptions;
  /** Counts passes and their duration (reconciler/metrics.ts). */
  metrics?: Pick<LoopMetrics, 'pass'>;
}
