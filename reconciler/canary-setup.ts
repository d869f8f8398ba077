// Builds the canary step controller from gates.canary and what the daemon hands in (the judge, how a
// failed rollout writes the desired state back, the file a rollout survives restarts in), and reads
// its state back out as the status reports it.
import type { CanaryReport } from '../common/status.js';
import { otherColor, type Color, type NewEvent } from '../common/types.js';
import type { CanaryGateConfig } from '../config/canary.js';
import {
  CanaryController,
  systemClock,
  type CanaryState,
  type Clock,
  type Rollout,
  type StepJudge,
  type StepStarted,
} from './canary.js';
import type { CanaryFile } from './canary-file.js';
import type { TrafficRouter } from './ports.js';

/** What the composition root gives the reconciler for gates.canary. */
export interface CanaryOptions {
  judge: StepJudge;
  /** Told when each step begins (TrafficStepJudge.started). @default nothing */
  stepStarted?: StepStarted;
  /** Every client is back on `from`: write the desired state that says so. Should not reject. */
  sendBack(rollout: Rollout, verdict: string): Promise<void>;
  file: CanaryFile;
  /** @default the system clock */
  clock?: Clock;
}

export interface CanaryWiring {
  router: TrafficRouter;
  ports: Record<Color, number>;
  event(event: NewEvent): Promise<void>;
  wake(): void;
  /** Whether the desired state says paused, as the last pass read it. */
  paused(): boolean;
}

export function makeCanary(
  config: CanaryGateConfig | null,
  options: CanaryOptions | undefined,
  w: CanaryWiring,
): CanaryController | null {
  if (config === null || options === undefined) return null;
  const settings = { steps: config.steps, stepDurationMs: config.stepDurationMs, clock: options.clock ?? systemClock };
  return new CanaryController(settings, {
    split: (to) => w.router.setCanary(to && { color: to.color, port: w.ports[to.color], weight: to.weight }),
    judge: options.judge,
    ...(options.stepStarted ? { stepStarted: options.stepStarted } : {}),
    sendBack: (rollout, verdict) =>
      options.sendBack(rollout, verdict).catch((err: unknown) =>
        w.event({
          reason: 'CanarySendBackFailed',
          message:
            `traffic is back on ${rollout.from}, but the desired state could not say so: ` + (err as Error).message,
        }),
      ),
    persist: (state) =>
      options.file.save(state).catch((err: unknown) =>
        w.event({
          reason: 'CanaryStateNotSaved',
          message:
            `${options.file.path} could not be written (a restart would not resume the canary): ` +
            (err as Error).message,
        }),
      ),
    event: w.event,
    wake: w.wake,
    paused: w.paused,
  });
}

/**
 * The weights public clients see now: the router's, not the last pass's. A color the proxy took out
 * of routing gets nothing; its clients go to the one that serves.
 */
export function currentWeights(router: TrafficRouter): Record<Color, number> | null {
  const serving = router.servingColor();
  if (serving === null) return null;
  const split = router.canary();
  const out = split !== null && router.outOfRouting(split.color) !== null;
  const share = split === null || split.color === serving || out ? 0 : split.weight;
  return { [serving]: 100 - share, [otherColor(serving)]: share } as Record<Color, number>;
}

export function canaryReport(state: CanaryState | null, steps: readonly number[]): CanaryReport | null {
  if (state === null) return null;
  const base = { from: state.from, to: state.to, tag: state.tag, steps: [...steps] };
  switch (state.phase) {
    case 'restored':
      return { ...base, phase: 'restored', weight: 0, step: state.step + 1, stepStartedAt: null };
    case 'stepping':
      return {
        ...base,
        phase: 'stepping',
        weight: state.weight,
        step: state.step + 1,
        stepStartedAt: new Date(state.startedAt).toISOString(),
      };
    case 'promoting':
      return { ...base, phase: 'promoting', weight: 100, step: steps.length + 1, stepStartedAt: null };
    default: {
      const never: never = state;
      throw new Error(`unknown canary phase ${JSON.stringify(never)}`);
    }
  }
}
