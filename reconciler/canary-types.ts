// The canary's vocabulary: the rollout, its steps and their verdicts, the state that survives a restart,
// and the ports and clock the controller (canary.ts) is given. Apart so the controller reads at once.
import type { Color, NewEvent } from '../common/types.js';

export interface Clock {
  now(): number;
  /** Calls `fn` once after `ms` (a test clock may await what it returns); the returned function cancels it. */
  after(ms: number, fn: () => Promise<void>): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  after: (ms, fn) => {
    const timer = setTimeout(() => void fn(), ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
};

/** Which switch the canary carries out: public traffic from `from` to `to`, which runs `tag`. */
export interface Rollout {
  from: Color;
  to: Color;
  tag: string;
}

/** What a judge is asked: how `to` did while it had `weight` per cent of the clients. */
export interface StepJudgement extends Rollout {
  step: number;
  weight: number;
  startedAt: number;
  endedAt: number;
}

/** pass: next step. fail: everyone back. hold: not enough to tell yet, judged again after another step. */
export type StepVerdict = { result: 'pass' | 'fail' | 'hold'; message: string };

export type StepJudge = (judgement: StepJudgement) => StepVerdict | Promise<StepVerdict>;

/** Told when a step (or a held step's next round) begins: a judge that compares readings takes its first here. */
export type StepStarted = (step: Omit<StepJudgement, 'endedAt'>) => void;

/**
 * restored: read back after a restart, not applied to the proxy yet. stepping: the split is live.
 * promoting: every step passed (or `--now`): the next pass switches all traffic.
 */
export type CanaryState =
  | (Rollout & { phase: 'restored'; step: number })
  | (Rollout & { phase: 'stepping'; step: number; weight: number; startedAt: number })
  | (Omit<Rollout, 'from'> & { phase: 'promoting'; from: Color | null; why: 'passed' | 'now' });

/** What survives a restart. */
export type PersistedCanary = Rollout & { step: number };

export interface CanaryPorts {
  /** Gives `to` `weight` per cent of the public clients; null: every client to the active color. */
  split(to: { color: Color; weight: number } | null): Promise<unknown>;
  judge: StepJudge;
  /** @default nothing */
  stepStarted?: StepStarted;
  /** Every client is back on `from` already: make the desired state say so. Never rejects. */
  sendBack(rollout: Rollout, verdict: string): Promise<void>;
  persist(state: PersistedCanary | null): Promise<void>;
  /** Best effort, never rejects. */
  event(event: NewEvent): Promise<void>;
  /** The state changed in a way the loop acts on (promoting, or sent back): run a pass. */
  wake(): void;
  /** True while the loop is paused: a step whose time is up waits another step, unjudged. @default never */
  paused?(): boolean;
}

export interface CanarySettings {
  steps: readonly number[];
  stepDurationMs: number;
  clock: Clock;
}
