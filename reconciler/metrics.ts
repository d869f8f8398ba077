// The daemon's Prometheus metrics (GET /hypervisor/metrics), in one prom-client registry: the
// request path's, read from the proxy's meter at scrape time (traffic-metrics.ts), and the
// loop's, counted here as passes, builds, deployments and gates happen. Every label value is a
// closed union, so the series are known in advance and start at zero.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ReconcilerStatus } from '../common/status.js';
import { COLORS, type Color, type ReleaseRecord, type StepResult } from '../common/types.js';
import { registerTrafficMetrics, type TrafficSources } from './traffic-metrics.js';

/** ok: every action done; action_failed: an action failed and ended the pass; failed: the pass itself threw. */
export type PassOutcome = 'ok' | 'action_failed' | 'failed';
export type BuildStep = 'build' | 'test';
export type StepOutcome = 'passed' | 'failed' | 'timed_out';
/**
 * promoted: public traffic reached a new tag; verified: verification passed; rolled_back: it
 * failed and traffic went back; verify_failed: it failed and nothing could be rolled back to.
 */
export type DeployOutcome = 'promoted' | 'verified' | 'rolled_back' | 'verify_failed';
export type GateName = 'smoke' | 'verify';
/** held: too few requests in the window with gates.verify.onTooFew: hold. */
export type GateOutcome = 'passed' | 'failed' | 'skipped' | 'held';

/** What the loop, the pipeline and the gates report; the daemon's registry implements it. */
export interface LoopMetrics {
  pass(outcome: PassOutcome, seconds: number): void;
  deploy(outcome: DeployOutcome): void;
  gate(gate: GateName, outcome: GateOutcome): void;
}

export interface MetricsSources extends TrafficSources {
  /** The last pass's status: which colors are Ready. */
  status(): Pick<ReconcilerStatus, 'colors'>;
  /** The color public traffic goes to now. */
  activeColor(): Color | null;
}

const PASS_OUTCOMES: readonly PassOutcome[] = ['ok', 'action_failed', 'failed'];
const DEPLOY_OUTCOMES: readonly DeployOutcome[] = ['promoted', 'verified', 'rolled_back', 'verify_failed'];
const GATES: readonly GateName[] = ['smoke', 'verify'];
const GATE_OUTCOMES: readonly GateOutcome[] = ['passed', 'failed', 'skipped', 'held'];
/** Seconds: a pass is milliseconds unless an action waits on a drain or a unit. */
const PASS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Seconds: BUILD and TEST take seconds to their timeouts (10m, 20m by default). */
const STEP_BUCKETS = [1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800];

export class HypervisorMetrics implements LoopMetrics {
  readonly #registry = new Registry();
  readonly #passes: Counter<'result'>;
  readonly #passSeconds: Histogram;
  readonly #steps: Histogram<'step' | 'result'>;
  readonly #deploys: Counter<'outcome'>;
  readonly #gates: Counter<'gate' | 'result'>;

  constructor(sources: MetricsSources) {
    const registers = [this.#registry];
    registerTrafficMetrics(this.#registry, sources);
    this.#passes = new Counter({
      name: 'hypervisor_reconcile_total',
      help: 'Reconcile passes by result',
      labelNames: ['result'],
      registers,
    });
    this.#passSeconds = new Histogram({
      name: 'hypervisor_reconcile_duration_seconds',
      help: 'How long a reconcile pass took',
      buckets: PASS_BUCKETS,
      registers,
    });
    this.#steps = new Histogram({
      name: 'hypervisor_build_duration_seconds',
      help: 'How long a BUILD or TEST step ran, by step and result',
      labelNames: ['step', 'result'],
      buckets: STEP_BUCKETS,
      registers,
    });
    this.#deploys = new Counter({
      name: 'hypervisor_deploys_total',
      help: 'Deployments by outcome: promoted, then verified, rolled_back or verify_failed (change-failure rate)',
      labelNames: ['outcome'],
      registers,
    });
    this.#gates = new Counter({
      name: 'hypervisor_gate_results_total',
      help: 'Promotion gate results (smoke before a switch, verify after it)',
      labelNames: ['gate', 'result'],
      registers,
    });
    this.#colorGauges(sources, registers);
    this.#zero();
  }

  get contentType(): string {
    return this.#registry.contentType;
  }

  /** The Prometheus text format of every metric. */
  text(): Promise<string> {
    return this.#registry.metrics();
  }

  pass(outcome: PassOutcome, seconds: number): void {
    this.#passes.inc({ result: outcome });
    this.#passSeconds.observe(seconds);
  }

  /** A release's build finished: its BUILD and TEST steps, as far as they ran. */
  release(record: ReleaseRecord): void {
    const steps: Array<[BuildStep, StepResult | null]> = [
      ['build', record.build],
      ['test', record.test],
    ];
    for (const [step, result] of steps) {
      if (result !== null) this.#steps.observe({ step, result: stepOutcome(result) }, result.durationMs / 1000);
    }
  }

  deploy(outcome: DeployOutcome): void {
    this.#deploys.inc({ outcome });
  }

  gate(gate: GateName, outcome: GateOutcome): void {
    this.#gates.inc({ gate, result: outcome });
  }

  #colorGauges(sources: MetricsSources, registers: Registry[]): void {
    new Gauge({
      name: 'hypervisor_color_ready',
      help: 'Whether the last pass saw the color Ready (1) or not (0)',
      labelNames: ['color'],
      registers,
      collect() {
        const colors = sources.status().colors;
        for (const color of COLORS) this.set({ color }, colors?.[color]?.phase === 'Ready' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'hypervisor_active_color',
      help: 'Whether public traffic goes to the color (1) or not (0)',
      labelNames: ['color'],
      registers,
      collect() {
        const active = sources.activeColor();
        for (const color of COLORS) this.set({ color }, active === color ? 1 : 0);
      },
    });
  }

  /** Every known series at zero, so a rate() over them works before the first event. */
  #zero(): void {
    for (const result of PASS_OUTCOMES) this.#passes.inc({ result }, 0);
    for (const outcome of DEPLOY_OUTCOMES) this.#deploys.inc({ outcome }, 0);
    for (const gate of GATES) for (const result of GATE_OUTCOMES) this.#gates.inc({ gate, result }, 0);
  }
}

function stepOutcome(result: StepResult): StepOutcome {
  if (result.timedOut) return 'timed_out';
  return result.exitCode === 0 ? 'passed' : 'failed';
}
