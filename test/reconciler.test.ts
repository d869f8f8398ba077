// The scheduler alone (reconciler/reconciler.ts), on a manual clock: passes that end only when the
// test lets them, so what runs when is seen exactly. Triggers coalesce into the pass that waits to
// run, never into one that started; the loop requeues itself one interval after each pass; close()
// waits for the pass under way and stops every requeue.
import { expect } from 'chai';
import { Reconciler } from '../reconciler/reconciler.js';
import { ManualClock } from './harness/manual-clock.js';

const REQUEUE_MS = 2_000;
const CLOSED = -1;

/** Passes numbered from 1 that run until the test ends them, one at a time. */
class HeldPasses {
  started = 0;
  #running: { end(): void; fail(err: Error): void } | null = null;
  #startWaiters: Array<() => void> = [];

  readonly pass = (): Promise<number> => {
    const n = ++this.started;
    for (const wake of this.#startWaiters.splice(0)) wake();
    return new Promise<number>((resolve, reject) => {
      this.#running = { end: () => resolve(n), fail: reject };
    });
  };

  /** Whether a pass has started and not ended. */
  get running(): boolean {
    return this.#running !== null;
  }

  /** Resolves once pass `n` has started. */
  async untilStarted(n: number): Promise<void> {
    while (this.started < n) await new Promise<void>((wake) => this.#startWaiters.push(wake));
  }

  end(): void {
    this.#take().end();
  }

  fail(err: Error): void {
    this.#take().fail(err);
  }

  #take(): { end(): void; fail(err: Error): void } {
    const running = this.#running;
    if (!running) throw new Error('no pass is running');
    this.#running = null;
    return running;
  }
}

describe('reconciler: the scheduler (manual clock)', () => {
  let clock: ManualClock;
  let passes: HeldPasses;
  let reconciler: Reconciler<number>;

  beforeEach(() => {
    clock = new ManualClock();
    passes = new HeldPasses();
    reconciler = new Reconciler({ pass: passes.pass, requeueMs: REQUEUE_MS, closed: () => CLOSED, timer: clock.timer });
  });
  // Every test ends the passes it started, so close() returns at once.
  afterEach(() => reconciler.close());

  it('coalesces the triggers that arrive while a pass waits to run into that one pass', async () => {
    const first = reconciler.trigger();
    await passes.untilStarted(1);
    const waiting = [reconciler.trigger(), reconciler.trigger(), reconciler.trigger()];
    expect(waiting[1]).to.equal(waiting[0]);
    expect(waiting[2]).to.equal(waiting[0]);
    passes.end();
    expect(await first).to.equal(1);
    await passes.untilStarted(2);
    passes.end();
    expect(await Promise.all(waiting)).to.deep.equal([2, 2, 2]);
    expect(passes.started).to.equal(2);
  });

  it('never shares a pass that has started: a trigger during it gets the next one', async () => {
    const first = reconciler.trigger();
    await passes.untilStarted(1);
    const during = reconciler.trigger();
    expect(during).to.not.equal(first);
    passes.end();
    await passes.untilStarted(2);
    passes.end();
    expect([await first, await during]).to.deep.equal([1, 2]);
  });

  it('requeues one interval after a pass ends; a trigger before then replaces the timer', async () => {
    expect(clock.pending()).to.deep.equal([]);
    const first = reconciler.trigger();
    await passes.untilStarted(1);
    expect(clock.pending(), 'nothing is requeued while a pass runs').to.deep.equal([]);
    passes.end();
    await first;
    expect(clock.pending()).to.deep.equal([REQUEUE_MS]);
    clock.advance(REQUEUE_MS - 1);
    expect(passes.started).to.equal(1);
    clock.advance(1);
    await passes.untilStarted(2);
    passes.end();
    clock.advance(500);
    const early = reconciler.trigger();
    await passes.untilStarted(3);
    passes.end();
    await early;
    expect(clock.pending(), 'one timer, from the last pass').to.deep.equal([REQUEUE_MS]);
  });

  it('requeues after a pass that failed too, and gives its error to the triggers that waited for it', async () => {
    const first = reconciler.trigger();
    await passes.untilStarted(1);
    passes.fail(new Error('store unreachable'));
    let error: Error | null = null;
    await first.catch((err: Error) => (error = err));
    expect(error).to.have.property('message', 'store unreachable');
    expect(clock.pending()).to.deep.equal([REQUEUE_MS]);
    clock.advance(REQUEUE_MS);
    await passes.untilStarted(2);
    passes.end();
  });

  it('runs exclusive work between passes, never during one', async () => {
    const seen: string[] = [];
    const pass = reconciler.trigger();
    await passes.untilStarted(1);
    const work = reconciler.exclusive(async () => void seen.push(passes.running ? 'during a pass' : 'between'));
    await Promise.resolve();
    expect(seen).to.deep.equal([]);
    passes.end();
    await Promise.all([pass, work]);
    expect(seen).to.deep.equal(['between']);
  });

  it('close() waits for the pass under way, cancels the requeue and runs no pass after', async () => {
    const first = reconciler.trigger();
    await passes.untilStarted(1);
    let closed = false;
    const closing = reconciler.close().then(() => (closed = true));
    await Promise.resolve();
    expect(closed, 'the pass under way is waited for').to.equal(false);
    passes.end();
    await closing;
    expect(await first).to.equal(1);
    expect(clock.pending(), 'the pass that ended after close() requeued nothing').to.deep.equal([]);
    expect(await reconciler.trigger()).to.equal(CLOSED);
    clock.advance(60 * REQUEUE_MS);
    expect(passes.started).to.equal(1);
  });

  it('close() cancels a requeue already set', async () => {
    const first = reconciler.trigger();
    await passes.untilStarted(1);
    passes.end();
    await first;
    expect(clock.pending()).to.deep.equal([REQUEUE_MS]);
    await reconciler.close();
    expect(clock.pending()).to.deep.equal([]);
  });

  it('refuses a requeue interval that is not a positive number', () => {
    for (const requeueMs of [0, -1, Number.NaN])
      expect(() => new Reconciler({ pass: passes.pass, requeueMs, closed: () => CLOSED }), String(requeueMs)).to.throw(
        RangeError,
        /requeueMs must be a positive number/,
      );
  });
});
