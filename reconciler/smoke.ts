// The smoke gate (config gates.smoke): the release's own smoke script, run in its checkout against
// one color directly (not through the proxy), once that color is Ready. It runs under the one
// supervisor like BUILD and TEST (runStep: its own process group and containment, a deadline, a
// capped log at <root>/logs/<tag>/smoke.log) and its result goes into the release record, where the
// plan reads it: exit 0 passes, anything else (a timeout, a missing script) fails.
import path from 'node:path';
import { environSweep, type Containment } from '../common/containment.js';
import type { Color, GateResult, SmokeResult } from '../common/types.js';
import type { SmokeGateConfig } from '../config/gates.js';
import type { Store } from '../store/store.js';
import type { LoopMetrics } from './metrics.js';
import { DEFAULT_LOG_CAP_BYTES } from './pipeline/capped-log.js';
import { describeOutcome, runStep } from './pipeline/step.js';

/** What one smoke run is about: the release and the color that runs it. */
export interface SmokeRequest {
  tag: string;
  version: string;
  color: Color;
  port: number;
}

export interface SmokeTester {
  /** Runs the gate and records its result; null when it was cancelled (nothing recorded: it runs again). */
  run(request: SmokeRequest, signal: AbortSignal): Promise<SmokeResult | null>;
}

export interface SmokeTestsOptions {
  /** Holds repos/<tag> (the checkout the script runs in) and logs/<tag>/. */
  root: string;
  gate: SmokeGateConfig;
  store: Pick<Store, 'updateRelease'>;
  /** Where scripts run; the same as the pipeline's. @default environSweep */
  containment?: Containment;
  /** @default 5_000 */
  killGraceMs?: number;
  /** @default 5 MiB */
  logCapBytes?: number;
  /** Counts each recorded result as hypervisor_gate_results_total{gate="smoke"}. */
  metrics?: Pick<LoopMetrics, 'gate'>;
}

export class SmokeTests implements SmokeTester {
  readonly #options: SmokeTestsOptions;

  constructor(options: SmokeTestsOptions) {
    this.#options = options;
  }

  async run(request: SmokeRequest, signal: AbortSignal): Promise<SmokeResult | null> {
    const { root, gate, store } = this.#options;
    const { tag, version, color, port } = request;
    const run = await runStep({
      name: gate.command,
      command: `./${gate.command}`,
      args: [],
      cwd: path.join(root, 'repos', tag),
      timeoutMs: gate.timeoutMs,
      killGraceMs: this.#options.killGraceMs ?? 5_000,
      logPath: path.join(root, 'logs', tag, 'smoke.log'),
      logCapBytes: this.#options.logCapBytes ?? DEFAULT_LOG_CAP_BYTES,
      signal,
      containment: this.#options.containment ?? environSweep,
      // Marked like a build step, so a daemon killed mid-run stops it when it starts again.
      markFile: path.join(root, 'run', 'builds', `${tag}.smoke.json`),
      env: {
        HYPERVISOR_TARGET_URL: `http://127.0.0.1:${port}`,
        HYPERVISOR_TAG: tag,
        HYPERVISOR_VERSION: version,
        HYPERVISOR_COLOR: color,
      },
    });
    if (run.aborted) return null;
    const passed = run.result.exitCode === 0 && !run.result.timedOut;
    const how = describeOutcome({ ...run.result, aborted: false, startError: run.startError }, gate.timeoutMs);
    const smoke: SmokeResult = { ...run.result, color, passed, summary: `${gate.command} ${how}` };
    await store.updateRelease(tag, { smoke });
    this.#options.metrics?.gate('smoke', passed ? 'passed' : 'failed');
    return smoke;
  }
}

/** The smoke gate's runner when gates.smoke is set; undefined (the gate is off) otherwise. */
export function smokeTestsFor(
  gate: SmokeGateConfig | null,
  options: Omit<SmokeTestsOptions, 'gate'>,
): SmokeTests | undefined {
  return gate === null ? undefined : new SmokeTests({ ...options, gate });
}

/** The smoke run as a gate of the deployment ledger. */
export function smokeGateResult(smoke: SmokeResult): GateResult {
  const seconds = (smoke.durationMs / 1000).toFixed(1);
  return {
    name: 'smoke',
    result: smoke.passed ? 'passed' : 'failed',
    verdict: `${smoke.summary} after ${seconds} s against ${smoke.color}`,
    measured: { durationMs: smoke.durationMs, ...(smoke.exitCode === null ? {} : { exitCode: smoke.exitCode }) },
  };
}
