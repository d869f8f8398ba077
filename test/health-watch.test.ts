// The failover decision on an injected clock: the health watch probes each color every
// health.interval, and the real Router takes a color that failed failureThreshold probes in a row
// out of public routing, then puts it back at its first Ready probe. The backends are modelled in
// virtual time the way units/health.ts sees them (test/health.test.ts holds the probe to that
// against real sockets): answering is Ready at once, stalled is a timeout after health.timeout,
// refusing is an immediate failure. Time moves only when a test moves it.
import { expect } from 'chai';
import type { Color, NewEvent } from '../common/types.js';
import type { HealthConfig } from '../config/config.js';
import { Router } from '../proxy/router.js';
import { routingVerdict } from '../reconciler/failover.js';
import { freshHistory, type ProbeTarget } from '../reconciler/health-history.js';
import { HealthWatch } from '../reconciler/health-watch.js';
import type { ProbeResult } from '../units/health.js';
import { ManualClock } from './harness/manual-clock.js';

const HEALTH: HealthConfig = {
  readyPath: '/ping',
  versionPath: '/version',
  intervalMs: 500,
  timeoutMs: 300,
  failureThreshold: 3,
  startTimeoutMs: 60_000,
};
const BOUND_MS = HEALTH.intervalMs * HEALTH.failureThreshold + HEALTH.timeoutMs;
const PORTS: Record<Color, number> = { blue: 8001, green: 8002 };

type Behaviour = 'answering' | 'stalled' | 'refusing';

describe('failover decision (health watch and router, injected clock)', () => {
  let clock: ManualClock;
  let router: Router;
  let watch: HealthWatch;
  let events: NewEvent[];
  let probes: Array<{ color: Color; at: number }>;
  const behaviour: Record<Color, Behaviour> = { blue: 'answering', green: 'answering' };

  const colorOf = (target: ProbeTarget): Color => (target.port === PORTS.blue ? 'blue' : 'green');
  const probe = (target: ProbeTarget): Promise<ProbeResult> => {
    probes.push({ color: colorOf(target), at: clock.now() });
    switch (behaviour[colorOf(target)]) {
      case 'answering':
        return Promise.resolve({ ready: true, version: target.version, reason: 'ready', timedOut: false });
      case 'refusing':
        return Promise.resolve({ ready: false, version: null, reason: '/ping: connection refused', timedOut: false });
      case 'stalled': {
        const reason = `/ping: timed out after ${HEALTH.timeoutMs}ms`;
        return new Promise((resolve) =>
          clock.after(HEALTH.timeoutMs, () => resolve({ ready: false, version: null, reason, timedOut: true })),
        );
      }
    }
  };
  const target = (color: Color, mainPid = 100): ProbeTarget => ({ mainPid, port: PORTS[color], version: '1.0' });

  beforeEach(async () => {
    clock = new ManualClock(1_000_000);
    router = new Router();
    await router.route({ color: 'blue', port: PORTS.blue }, { color: 'green', port: PORTS.green });
    events = [];
    probes = [];
    behaviour.blue = 'answering';
    behaviour.green = 'answering';
    watch = new HealthWatch({ health: HEALTH, router, clock, probe, onFailover: (e) => events.push(e) });
    watch.sync('blue', target('blue'));
    watch.sync('green', target('green'));
    watch.start();
    await clock.advanceSettled(2 * HEALTH.intervalMs);
  });

  afterEach(async () => {
    // close() waits for the probes in flight; a stalled one ends at its timeout, on this clock.
    const closing = watch.close();
    await clock.advanceSettled(HEALTH.timeoutMs);
    await closing;
    expect(clock.pending().length, 'close() leaves no timer').to.equal(0);
    await router.close(1_000);
  });

  /** When the router first sent public traffic away from blue, on the virtual clock. */
  const failoverTime = (): (() => number | null) => {
    let at: number | null = null;
    const stop = router.onFailover((now) => {
      if (now && at === null) at = clock.now();
    });
    return () => {
      stop();
      return at;
    };
  };

  it('probes each running color every health.interval, start to start', () => {
    const blueAt = probes.filter((p) => p.color === 'blue').map((p) => p.at - 1_000_000);
    expect(blueAt).to.deep.equal([0, 500, 1_000]);
  });

  for (const offset of [1, 120, 250, 380, 499]) {
    it(`takes a stalled active color out within interval x threshold + timeout (stall at +${offset}ms)`, async () => {
      await clock.advanceSettled(offset);
      const stalledAt = clock.now();
      const failedOverAt = failoverTime();
      behaviour.blue = 'stalled';
      await clock.advanceSettled(BOUND_MS + HEALTH.intervalMs);
      const at = failedOverAt();
      expect(at, 'blue was taken out').to.not.equal(null);
      // The third timed-out probe decides: never sooner, and never later than the bound.
      expect(at! - stalledAt).to.be.at.most(BOUND_MS);
      expect(at! - stalledAt).to.be.above(BOUND_MS - HEALTH.intervalMs);
      expect(router.servingColor()).to.equal('green');
      const lease = router.lease('active');
      lease?.release();
      expect(lease?.target.color).to.equal('green');
      expect(router.activeColor(), 'the assignment is unchanged: no switch').to.equal('blue');
    });
  }

  it("counts a pass's probe in the same history, and goes on one interval after it", async () => {
    behaviour.blue = 'stalled';
    await clock.advanceSettled(200);
    const passAt = clock.now();
    const pass = watch.probe('blue');
    await clock.advanceSettled(HEALTH.timeoutMs);
    expect(await pass).to.include({ consecutiveFailures: 1, consecutiveTimeouts: 1 });
    await clock.advanceSettled(HEALTH.intervalMs);
    const blueAt = probes.filter((p) => p.color === 'blue' && p.at >= passAt).map((p) => p.at - passAt);
    expect(blueAt).to.deep.equal([0, HEALTH.intervalMs]);
    expect(watch.history('blue')).to.include({ consecutiveFailures: 2 });
  });

  it('keeps routing to a color below the threshold, and a Ready probe ends the count', async () => {
    behaviour.blue = 'stalled';
    await clock.advanceSettled(2 * HEALTH.intervalMs + HEALTH.timeoutMs);
    expect(watch.history('blue')).to.include({ consecutiveFailures: 2, consecutiveTimeouts: 2 });
    behaviour.blue = 'answering';
    await clock.advanceSettled(3 * HEALTH.intervalMs);
    expect(router.servingColor()).to.equal('blue');
    expect(watch.history('blue')).to.include({ consecutiveFailures: 0 });
    expect(events).to.deep.equal([]);
  });

  it('puts the color back at its first Ready probe; FailedOver and FailedBack say the color and why', async () => {
    behaviour.blue = 'stalled';
    await clock.advanceSettled(BOUND_MS + HEALTH.intervalMs);
    expect(router.outOfRouting('blue')).to.equal('blue stalled (3 probes timed out after 300ms)');
    behaviour.blue = 'answering';
    await clock.advanceSettled(HEALTH.intervalMs);
    expect(router.servingColor()).to.equal('blue');
    expect(router.outOfRouting('blue')).to.equal(null);
    expect(events.map((e) => [e.reason, e.color, e.message])).to.deep.equal([
      [
        'FailedOver',
        'blue',
        'blue stalled (3 probes timed out after 300ms); public traffic goes to green until blue answers again',
      ],
      ['FailedBack', 'blue', 'blue answers again: public traffic goes back to blue'],
    ]);
  });

  it('names failures that are not timeouts, and fails over for them too', async () => {
    behaviour.blue = 'refusing';
    await clock.advanceSettled(BOUND_MS);
    expect(router.outOfRouting('blue')).to.equal('blue failed 3 probes in a row (last: /ping: connection refused)');
    expect(router.servingColor()).to.equal('green');
  });

  it('sends traffic back to the active color when the other one stops answering too', async () => {
    behaviour.blue = 'stalled';
    await clock.advanceSettled(BOUND_MS + HEALTH.intervalMs);
    behaviour.green = 'stalled';
    await clock.advanceSettled(BOUND_MS + HEALTH.intervalMs);
    expect(router.servingColor(), 'green is no better than blue').to.equal('blue');
    expect(router.failoverLease(router.active!), 'nor a failover target for a request').to.equal(null);
    expect(events.map((e) => e.reason)).to.deep.equal(['FailedOver', 'FailedBack']);
    expect(events[1]!.message).to.equal(
      'green cannot take the traffic any more (green stalled (3 probes timed out after 300ms)): ' +
        'public traffic goes to blue again, unanswered',
    );
  });

  it('keeps a restarted color out (a fresh history) until the new process answers', async () => {
    behaviour.blue = 'stalled';
    await clock.advanceSettled(BOUND_MS + HEALTH.intervalMs);
    behaviour.blue = 'refusing';
    watch.sync('blue', target('blue', 200));
    expect(watch.history('blue')).to.include({ consecutiveFailures: 0, wasReady: false });
    await clock.advanceSettled(HEALTH.intervalMs);
    expect(router.servingColor(), 'starting: still out').to.equal('green');
    behaviour.blue = 'answering';
    await clock.advanceSettled(HEALTH.intervalMs);
    expect(router.servingColor()).to.equal('blue');
    expect(watch.history('blue')).to.include({ wasReady: true });
  });

  it('stops probing a color that no longer runs, and starts again when it does', async () => {
    watch.sync('green', null);
    const before = probes.filter((p) => p.color === 'green').length;
    await clock.advanceSettled(3 * HEALTH.intervalMs);
    expect(probes.filter((p) => p.color === 'green')).to.have.length(before);
    watch.sync('green', target('green', 300));
    await clock.advanceSettled(1);
    expect(probes.filter((p) => p.color === 'green')).to.have.length(before + 1);
  });
});

describe('failover decision: the rule alone', () => {
  const history = freshHistory({ mainPid: 1, port: 8001, version: '1.0' }, 0);
  const failed = (timedOut: boolean): ProbeResult => ({ ready: false, version: null, reason: 'x', timedOut });

  it('keeps a color with no probe yet, or fewer failures than the threshold, where it is', () => {
    expect(routingVerdict('blue', history, HEALTH)).to.deep.equal({ kind: 'keep' });
    const two = { ...history, consecutiveFailures: 2, consecutiveTimeouts: 2, last: failed(true) };
    expect(routingVerdict('blue', two, HEALTH)).to.deep.equal({ kind: 'keep' });
  });

  it('takes a color out at the threshold, calling it stalled only when every failure was a timeout', () => {
    const stalled = { ...history, consecutiveFailures: 3, consecutiveTimeouts: 3, last: failed(true) };
    expect(routingVerdict('green', stalled, HEALTH)).to.deep.equal({
      kind: 'out',
      why: 'green stalled (3 probes timed out after 300ms)',
    });
    const mixed = { ...stalled, consecutiveTimeouts: 2 };
    expect(routingVerdict('green', mixed, HEALTH)).to.deep.equal({
      kind: 'out',
      why: 'green failed 3 probes in a row (last: x)',
    });
  });

  it('puts a color back when its last probe is Ready', () => {
    const ready = { ...history, last: { ready: true, version: '1.0', reason: 'ready', timedOut: false } };
    expect(routingVerdict('blue', ready, HEALTH)).to.deep.equal({ kind: 'in' });
  });
});
