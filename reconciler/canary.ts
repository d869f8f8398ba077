// The canary's step controller (gates.canary): after a switch, the new color takes steps[0] per cent
// of the public clients for stepDuration, is judged, then takes the next step, and so on; once the
// last step passes, the loop makes the full switch. A failed step sends every client back at once and
// asks for the desired state to say so. Time comes from an injected clock and verdicts from an
// injected judge, so the whole progression runs in unit tests without waiting.
// The state that must survive a restart (which rollout, which step) is handed to `persist` on every
// change; after a restart `restore` takes it back and the loop resumes that step from its start.
import type { Color } from '../common/types.js';
import type {
  CanaryPorts,
  CanarySettings,
  CanaryState,
  PersistedCanary,
  Rollout,
  StepVerdict,
} from './canary-types.js';

export { systemClock } from './canary-types.js';
export type {
  CanaryPorts,
  CanarySettings,
  CanaryState,
  Clock,
  PersistedCanary,
  Rollout,
  StepJudge,
  StepJudgement,
  StepStarted,
  StepVerdict,
} from './canary-types.js';

export class CanaryController {
  readonly #settings: CanarySettings;
  readonly #ports: CanaryPorts;
  #state: CanaryState | null = null;
  #cancelTimer: (() => void) | null = null;

  constructor(settings: CanarySettings, ports: CanaryPorts) {
    this.#settings = settings;
    this.#ports = ports;
  }

  get steps(): readonly number[] {
    return this.#settings.steps;
  }

  state(): CanaryState | null {
    return this.#state;
  }

  /** A rollout an earlier daemon left mid-way; the loop resumes it (begin) when it still makes sense. */
  restore(saved: PersistedCanary | null): void {
    if (saved === null || this.#state !== null) return;
    const step = Math.min(Math.max(0, saved.step), this.#settings.steps.length - 1);
    this.#state = { phase: 'restored', from: saved.from, to: saved.to, tag: saved.tag, step };
  }

  /** Starts (or resumes, at `step`) the rollout; a no-op while that rollout already runs. */
  async begin(rollout: Rollout, step = 0): Promise<void> {
    const s = this.#state;
    if (s?.phase === 'stepping' && sameRollout(s, rollout)) return;
    this.#stopTimer();
    await this.#enter(rollout, step);
  }

  /** `switch --now`: the rollout to `to` at `tag` skips its remaining steps (or all of them). */
  async skip(to: Color, tag: string, from: Color | null): Promise<void> {
    const s = this.#state;
    this.#stopTimer();
    const known = s !== null && s.phase !== 'promoting' && s.to === to && s.tag === tag;
    this.#state = { phase: 'promoting', from: known ? s.from : from, to, tag, why: 'now' };
    await this.#ports.persist(null);
    if (known) await this.#event(s, `canary of ${tag} on ${to}: steps skipped (switch --now)`, 'CanarySkipped');
    this.#ports.wake();
  }

  /** The daemon stops: no more timers; the split and the saved state stay as they are. */
  stop(): void {
    this.#stopTimer();
  }

  /** The rollout is over (the full switch happened, or it no longer applies): no split, nothing kept. */
  async end(): Promise<void> {
    if (this.#state === null) return;
    this.#stopTimer();
    this.#state = null;
    await this.#ports.split(null);
    await this.#ports.persist(null);
  }

  async #enter(rollout: Rollout, step: number): Promise<void> {
    const weight = this.#settings.steps[step]!;
    const { from, to, tag } = rollout;
    this.#state = { phase: 'stepping', from, to, tag, step, weight, startedAt: this.#settings.clock.now() };
    await this.#ports.split({ color: to, weight });
    await this.#ports.persist({ from, to, tag, step });
    await this.#event(
      rollout,
      `canary of ${tag}: ${to} takes ${weight}% of the clients, ${from} the rest (step ${step + 1} of ` +
        `${this.#settings.steps.length + 1})`,
      'CanaryStep',
      { step: step + 1, weight },
    );
    this.#schedule();
  }

  #schedule(): void {
    const at = this.#state;
    if (at?.phase === 'stepping') {
      const { from, to, tag, step, weight, startedAt } = at;
      this.#ports.stepStarted?.({ from, to, tag, step, weight, startedAt });
    }
    this.#cancelTimer = this.#settings.clock.after(this.#settings.stepDurationMs, async () => {
      this.#cancelTimer = null;
      if (this.#state === at) await this.#judge();
    });
  }

  async #judge(): Promise<void> {
    const s = this.#state;
    if (s?.phase !== 'stepping') return;
    // Paused: observe and report, change nothing; the step neither advances nor fails.
    if (this.#ports.paused?.()) {
      this.#state = { ...s, startedAt: this.#settings.clock.now() };
      return this.#schedule();
    }
    const verdict = await this.#verdict(s);
    if (this.#state !== s) return; // ended or skipped while the judge ran
    switch (verdict.result) {
      case 'pass':
        return this.#passed(s, verdict.message);
      case 'hold':
        await this.#event(s, `canary of ${s.tag} at ${s.weight}% holds: ${verdict.message}`, 'CanaryHeld');
        this.#state = { ...s, startedAt: this.#settings.clock.now() };
        return this.#schedule();
      case 'fail':
        return this.#failed(s, verdict.message);
      default: {
        const never: never = verdict.result;
        throw new Error(`unknown verdict ${String(never)}`);
      }
    }
  }

  async #verdict(s: Extract<CanaryState, { phase: 'stepping' }>): Promise<StepVerdict> {
    try {
      return await this.#ports.judge({ ...s, endedAt: this.#settings.clock.now() });
    } catch (err) {
      return { result: 'fail', message: `the judge failed: ${(err as Error).message}` };
    }
  }

  async #passed(s: Extract<CanaryState, { phase: 'stepping' }>, message: string): Promise<void> {
    await this.#event(s, `canary of ${s.tag} at ${s.weight}% passed: ${message}`, 'CanaryStepPassed', {
      step: s.step + 1,
      weight: s.weight,
    });
    if (s.step + 1 < this.#settings.steps.length) return this.#enter(s, s.step + 1);
    this.#state = { phase: 'promoting', from: s.from, to: s.to, tag: s.tag, why: 'passed' };
    await this.#ports.persist(null);
    this.#ports.wake();
  }

  async #failed(s: Extract<CanaryState, { phase: 'stepping' }>, message: string): Promise<void> {
    this.#state = null;
    // Everyone back first: the desired state and the events can follow, the clients cannot wait.
    await this.#ports.split(null);
    await this.#event(
      s,
      `canary of ${s.tag} failed at ${s.weight}%: ${message}; every client is back on ${s.from}`,
      'CanaryFailed',
      { step: s.step + 1, weight: s.weight, verdict: message },
    );
    await this.#ports.sendBack({ from: s.from, to: s.to, tag: s.tag }, message);
    await this.#ports.persist(null);
    this.#ports.wake();
  }

  #event(r: Rollout, message: string, reason: string, data: Record<string, unknown> = {}): Promise<void> {
    return this.#ports.event({ reason, color: r.to, message, data: { from: r.from, to: r.to, tag: r.tag, ...data } });
  }

  #stopTimer(): void {
    this.#cancelTimer?.();
    this.#cancelTimer = null;
  }
}

function sameRollout(a: Rollout, b: Rollout): boolean {
  return a.from === b.from && a.to === b.to && a.tag === b.tag;
}
