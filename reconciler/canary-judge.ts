// Judges a canary step from the proxy's own measurements of the new color, with the verification
// gate's judge (judge.ts) and its thresholds (gates.verify): a reading of the color's counters when the step
// begins, another when its time is up, and the window between them held against the thresholds.
// A color the loop no longer sees Ready fails the step whatever its traffic says.
import type { ReconcilerStatus } from '../common/status.js';
import { windowBetween, type TrafficReadings, type TrafficTotals } from '../common/traffic.js';
import type { StepJudgement, StepVerdict } from './canary.js';
import { judge, type VerifyThresholds } from './judge.js';

/** gates.verify's documented defaults: what a step is held against while that gate is not configured. */
export const DEFAULT_STEP_THRESHOLDS: VerifyThresholds = {
  windowMs: 120_000,
  minRequests: 50,
  maxErrorRate: 0.01,
  maxP99Seconds: 2,
  onTooFew: 'pass',
};

type StepStart = Omit<StepJudgement, 'endedAt'>;

export class TrafficStepJudge {
  readonly #readings: Pick<TrafficReadings, 'totals'>;
  readonly #thresholds: VerifyThresholds;
  readonly #status: () => ReconcilerStatus;
  /** The reading at the start of the round under way (one rollout runs at a time). */
  #start: { key: string; totals: TrafficTotals } | null = null;

  constructor(readings: Pick<TrafficReadings, 'totals'>, thresholds: VerifyThresholds, status: () => ReconcilerStatus) {
    this.#readings = readings;
    this.#thresholds = thresholds;
    this.#status = status;
  }

  started(step: StepStart): void {
    this.#start = { key: keyOf(step), totals: this.#readings.totals(step.to) };
  }

  judge(step: StepJudgement): StepVerdict {
    const seen = this.#status().colors?.[step.to];
    if (seen?.phase !== 'Ready' || seen.runningTag !== step.tag) {
      const why = seen ? `${seen.phase}: ${seen.message}` : 'not observed';
      return { result: 'fail', message: `${step.to} is not Ready at ${step.tag} (${why})` };
    }
    const start = this.#start?.key === keyOf(step) ? this.#start.totals : null;
    // No first reading (cannot happen while the controller calls started): judge the next round.
    if (start === null) return { result: 'hold', message: 'no reading at the start of the step' };
    const verdict = judge(windowBetween(start, this.#readings.totals(step.to)), this.#thresholds, true);
    switch (verdict.verdict) {
      case 'passed':
        return { result: 'pass', message: verdict.reason };
      case 'failed':
        return { result: 'fail', message: verdict.reason };
      case 'too_few':
        return { result: this.#thresholds.onTooFew, message: verdict.reason };
      case 'pending':
        return { result: 'hold', message: verdict.reason };
      default: {
        const never: never = verdict;
        throw new Error(`unknown judgement ${JSON.stringify(never)}`);
      }
    }
  }
}

function keyOf(step: StepStart): string {
  return `${step.to}@${step.tag}#${step.step}@${step.startedAt}`;
}
