// The canary's step controller on an injected clock: steps advance when their time is up and the
// judge passes them, a failed step sends every client back and asks the desired state to follow,
// `switch --now` skips what is left, and a restart resumes the step it was in.
import { expect } from 'chai';
import type { Color, NewEvent } from '../common/types.js';
import {
  CanaryController,
  type Clock,
  type PersistedCanary,
  type Rollout,
  type StepJudgement,
  type StepVerdict,
} from '../reconciler/canary.js';

const MINUTE = 60_000;
const ROLLOUT: Rollout = { from: 'blue', to: 'green', tag: 'v26.11.27.1' };

/** A clock that moves only when told, and waits for what each timer it fires does. */
class ManualClock implements Clock {
  #now = 1_000_000;
  #timers: Array<{ at: number; fn: () => Promise<void>; cancelled: boolean }> = [];

  now(): number {
    return this.#now;
  }

  after(ms: number, fn: () => Promise<void>): () => void {
    const timer = { at: this.#now + ms, fn, cancelled: false };
    this.#timers.push(timer);
    return () => (timer.cancelled = true);
  }

  get pending(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }

  async advance(ms: number): Promise<void> {
    const until = this.#now + ms;
    for (;;) {
      const due = this.#timers.filter((t) => !t.cancelled && t.at <= until).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.#now = due.at;
      await due.fn();
    }
    this.#now = until;
  }
}

interface Rig {
  clock: ManualClock;
  controller: CanaryController;
  splits: Array<{ color: Color; weight: number } | null>;
  judged: StepJudgement[];
  sentBack: Array<{ rollout: Rollout; verdict: string }>;
  persisted: Array<PersistedCanary | null>;
  events: NewEvent[];
  wakes: number;
  verdicts: StepVerdict[];
  paused: boolean;
  started: Array<[number, number]>;
}

function rig(steps: number[] = [10, 50]): Rig {
  const clock = new ManualClock();
  const r: Omit<Rig, 'controller'> = {
    clock,
    splits: [],
    judged: [],
    sentBack: [],
    persisted: [],
    events: [],
    wakes: 0,
    verdicts: [],
    paused: false,
    started: [],
  };
  const controller = new CanaryController(
    { steps, stepDurationMs: MINUTE, clock },
    {
      split: async (to) => void r.splits.push(to),
      judge: (j) => {
        r.judged.push(j);
        return r.verdicts.shift() ?? { result: 'pass', message: '0 errors in 120 requests' };
      },
      sendBack: async (rollout, verdict) => void r.sentBack.push({ rollout, verdict }),
      persist: async (state) => void r.persisted.push(state),
      event: async (event) => void r.events.push(event),
      wake: () => (r.wakes += 1),
      paused: () => r.paused,
      stepStarted: (s) => void r.started.push([s.weight, s.startedAt]),
    },
  );
  return Object.assign(r, { controller }) as Rig;
}

describe('canary step controller (injected clock)', () => {
  it('advances one step per stepDuration while the judge passes, then asks for the full switch', async () => {
    const r = rig();
    await r.controller.begin(ROLLOUT);
    expect(r.splits).to.deep.equal([{ color: 'green', weight: 10 }]);
    expect(r.controller.state()).to.include({ phase: 'stepping', weight: 10, step: 0 });
    await r.clock.advance(MINUTE - 1);
    expect(r.judged, 'not judged before its time').to.have.length(0);
    await r.clock.advance(1);
    expect(r.judged.map((j) => [j.weight, j.endedAt - j.startedAt])).to.deep.equal([[10, MINUTE]]);
    expect(r.splits.at(-1)).to.deep.equal({ color: 'green', weight: 50 });
    expect(r.wakes).to.equal(0);
    await r.clock.advance(MINUTE);
    expect(r.judged.map((j) => j.weight)).to.deep.equal([10, 50]);
    expect(r.controller.state()).to.deep.equal({ phase: 'promoting', ...ROLLOUT, why: 'passed' });
    expect(r.wakes).to.equal(1);
    expect(r.persisted).to.deep.equal([{ ...ROLLOUT, step: 0 }, { ...ROLLOUT, step: 1 }, null]);
    expect(r.events.map((e) => e.reason)).to.deep.equal([
      'CanaryStep',
      'CanaryStepPassed',
      'CanaryStep',
      'CanaryStepPassed',
    ]);
    await r.controller.end();
    expect(r.splits.at(-1)).to.equal(null);
    expect(r.controller.state()).to.equal(null);
    expect(r.clock.pending).to.equal(0);
  });

  it('a failed step sends every client back at once and has the desired state follow, with the verdict', async () => {
    const r = rig();
    r.verdicts.push(
      { result: 'pass', message: 'fine' },
      { result: 'fail', message: 'error rate 37.5% (15 of 40) > 1%' },
    );
    await r.controller.begin(ROLLOUT);
    await r.clock.advance(2 * MINUTE);
    expect(r.splits).to.deep.equal([{ color: 'green', weight: 10 }, { color: 'green', weight: 50 }, null]);
    expect(r.sentBack).to.deep.equal([{ rollout: ROLLOUT, verdict: 'error rate 37.5% (15 of 40) > 1%' }]);
    expect(r.controller.state()).to.equal(null);
    expect(r.persisted.at(-1)).to.equal(null);
    const failed = r.events.find((e) => e.reason === 'CanaryFailed')!;
    expect(failed.message).to.equal(
      'canary of v26.11.27.1 failed at 50%: error rate 37.5% (15 of 40) > 1%; every client is back on blue',
    );
    expect(r.wakes).to.equal(1);
    await r.clock.advance(10 * MINUTE);
    expect(r.judged, 'nothing judged after the failure').to.have.length(2);
  });

  it('a judge that throws fails the step', async () => {
    const r = rig([25]);
    await r.controller.begin(ROLLOUT);
    (r.verdicts as unknown as { shift(): never }).shift = () => {
      throw new Error('no measurements');
    };
    await r.clock.advance(MINUTE);
    expect(r.sentBack.map((s) => s.verdict)).to.deep.equal(['the judge failed: no measurements']);
    expect(r.splits.at(-1)).to.equal(null);
  });

  it('holds a step the judge cannot tell yet, and judges it again a step later', async () => {
    const r = rig([10]);
    r.verdicts.push({ result: 'hold', message: '3 requests, 50 needed' });
    await r.controller.begin(ROLLOUT);
    await r.clock.advance(MINUTE);
    expect(r.controller.state()).to.include({ phase: 'stepping', weight: 10 });
    await r.clock.advance(MINUTE);
    expect(r.judged).to.have.length(2);
    expect(r.controller.state()?.phase).to.equal('promoting');
    expect(r.started, 'a judge is told when each round begins').to.deep.equal([
      [10, r.judged[0]!.startedAt],
      [10, r.judged[1]!.startedAt],
    ]);
    expect(r.judged[1]!.startedAt - r.judged[0]!.startedAt).to.equal(MINUTE);
  });

  it('while the loop is paused a step neither advances nor is judged; it goes on after resume', async () => {
    const r = rig();
    await r.controller.begin(ROLLOUT);
    r.paused = true;
    await r.clock.advance(3 * MINUTE);
    expect(r.judged).to.have.length(0);
    expect(r.splits).to.deep.equal([{ color: 'green', weight: 10 }]);
    r.paused = false;
    await r.clock.advance(MINUTE);
    expect(r.judged.map((j) => [j.weight, j.endedAt - j.startedAt])).to.deep.equal([[10, MINUTE]]);
    expect(r.splits.at(-1)).to.deep.equal({ color: 'green', weight: 50 });
  });

  it('switch --now skips the steps left: promoting at once, nothing more judged', async () => {
    const r = rig();
    await r.controller.begin(ROLLOUT);
    await r.clock.advance(MINUTE / 2);
    await r.controller.skip('green', ROLLOUT.tag, 'blue');
    expect(r.controller.state()).to.deep.equal({ phase: 'promoting', ...ROLLOUT, why: 'now' });
    expect(r.wakes).to.equal(1);
    expect(r.clock.pending).to.equal(0);
    await r.clock.advance(5 * MINUTE);
    expect(r.judged).to.have.length(0);
    expect(r.splits).to.deep.equal([{ color: 'green', weight: 10 }]);
  });

  it('switch --now before any step: promoting without a split', async () => {
    const r = rig();
    await r.controller.skip('green', ROLLOUT.tag, 'blue');
    expect(r.controller.state()).to.deep.equal({ phase: 'promoting', ...ROLLOUT, why: 'now' });
    expect(r.splits).to.deep.equal([]);
  });

  it('begin is a no-op for the rollout that runs; another rollout starts over', async () => {
    const r = rig();
    await r.controller.begin(ROLLOUT);
    await r.clock.advance(MINUTE / 2);
    await r.controller.begin(ROLLOUT);
    expect(r.splits).to.have.length(1);
    await r.clock.advance(MINUTE / 2);
    expect(r.judged).to.have.length(1);
    await r.controller.begin({ ...ROLLOUT, tag: 'v26.11.27.2' });
    expect(r.controller.state()).to.include({ tag: 'v26.11.27.2', weight: 10 });
    expect(r.clock.pending).to.equal(1);
  });

  it('after a restart resumes the step it was in, with a full step of time', async () => {
    const r = rig();
    r.controller.restore({ ...ROLLOUT, step: 1 });
    expect(r.controller.state()).to.deep.equal({ phase: 'restored', ...ROLLOUT, step: 1 });
    expect(r.splits, 'nothing applied before the loop resumes it').to.deep.equal([]);
    await r.controller.begin(ROLLOUT, 1);
    expect(r.splits).to.deep.equal([{ color: 'green', weight: 50 }]);
    await r.clock.advance(MINUTE);
    expect(r.controller.state()?.phase).to.equal('promoting');
    const clamped = rig([10]);
    clamped.controller.restore({ ...ROLLOUT, step: 7 });
    expect(clamped.controller.state()).to.include({ step: 0 });
  });
});
