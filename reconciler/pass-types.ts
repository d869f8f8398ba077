// What a reconcile pass is given (PassOptions) and what it answers (PassResult, PlanPreview). Apart
// so the pass itself (pass.ts) reads at once.
import type { ReconcilerStatus } from '../common/status.js';
import type { NewEvent } from '../common/types.js';
import type { Config } from '../config/config.js';
import type { Store } from '../store/store.js';
import type { UnitDriver } from '../units/driver.js';
import type { ActionOutcome } from './act.js';
import type { CanaryController } from './canary.js';
import type { LoopMetrics } from './metrics.js';
import type { TrafficRouter } from './ports.js';
import type { SmokeRequest } from './smoke.js';
import type { StatusBoard } from './status-board.js';
import type { Plan } from './types.js';

export interface PassResult {
  revision: number | null;
  actions: ActionOutcome[];
  waiting: string | null;
  status: ReconcilerStatus;
}

/** What the next pass would do, from a fresh observation, without doing it (GET /hypervisor/plan). */
export interface PlanPreview extends Plan {
  revision: number | null;
}

export type PassFinishedListener = (result: PassResult) => void;

export type PassStore = Pick<
  Store,
  'latestRevision' | 'getRelease' | 'listRevisions' | 'openDeployments' | 'startDeployment' | 'endDeployment'
>;

export interface PassOptions {
  config: Pick<Config, 'app' | 'colors' | 'root'>;
  store: PassStore;
  driver: UnitDriver;
  router: TrafficRouter;
  builds: { build(tag: string, reason: string): boolean; tags(): ReadonlySet<string> };
  /** The smoke gate's runs (smoke-jobs.ts); null: the gate is off. */
  smokes: { enqueue(request: SmokeRequest, reason: string): boolean; tags(): ReadonlySet<string> } | null;
  status: StatusBoard;
  /** Best effort (EventLog.record): never rejects, so a lost event never fails a pass. */
  event(event: NewEvent): Promise<void>;
  /** Each change of the data plane's failover (the health watch moved public traffic), as an event. */
  onFailover?: (event: NewEvent) => void;
  now(): number;
  /** The canary step controller, when gates.canary is on. @default null */
  canary?: CanaryController | null;
  /** Counts passes and their duration (hypervisor_reconcile_total, _duration_seconds). */
  metrics?: Pick<LoopMetrics, 'pass'>;
}
