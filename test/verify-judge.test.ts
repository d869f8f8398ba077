// The verification judge, alone: a pure function of a measurement window and the thresholds. The
// windows are made by a real meter fed with answers, so the judge reads what the proxy counts.
import { expect } from 'chai';
import { judge, percent, type VerifyThresholds } from '../reconciler/judge.js';
import { windowBetween, type TrafficWindow } from '../common/traffic.js';
import { TrafficMeter } from '../proxy/meter.js';

const T: VerifyThresholds = {
  windowMs: 120_000,
  minRequests: 50,
  maxErrorRate: 0.01,
  maxP99Seconds: 2,
  onTooFew: 'pass',
};

/** `ok` 200s and `bad` 500s answered in `latencyMs` each, plus `refused` connection failures, over `seconds`. */
function window(ok: number, bad: number, latencyMs = 10, seconds = 41, refused = 0): TrafficWindow {
  let now = 0;
  const meter = new TrafficMeter({ now: () => now, origin: 0 });
  const from = meter.totals('green');
  for (let i = 0; i < ok + bad; i += 1) {
    const started = now;
    now += latencyMs;
    meter.answered('green', 'GET', i < ok ? 200 : 500, started);
  }
  for (let i = 0; i < refused; i += 1) meter.failed('green', 'refused', true);
  now = seconds * 1000;
  return windowBetween(from, meter.totals('green'));
}

describe('verification judge', () => {
  it('fails on the error rate, naming it in words and numbers', () => {
    const j = judge(window(250, 150), T, false);
    expect(j.verdict).to.equal('failed');
    expect(j.reason).to.equal('error rate 37.5% (150 of 400) > 1% over 41 s');
    expect(j.measured).to.deep.include({ requests: 400, errors: 150, errorRate: 0.375 });
  });

  it('counts connection failures that the other color took as errors of the color that failed', () => {
    const j = judge(window(95, 0, 10, 30, 5), T, false);
    expect(j.reason).to.equal('error rate 5% (5 of 100) > 1% over 30 s');
  });

  it('fails on the p99 latency once there are enough requests, before the window is over', () => {
    const j = judge(window(60, 0, 2_700), T, false);
    expect(j.verdict).to.equal('failed');
    expect(j.reason).to.match(/^p99 2\.\d+ s > 2 s \(60 requests\) over 41 s$/);
  });

  it('passes only once the window is over; until then a good window is pending', () => {
    expect(judge(window(400, 0), T, false).verdict).to.equal('pending');
    const j = judge(window(399, 1), T, true);
    expect(j.verdict).to.equal('passed');
    expect(j.reason).to.match(/^error rate 0\.25% \(1 of 400\) <= 1%, p99 0\.0\d+ s <= 2 s over 41 s$/);
  });

  it('says too few requests at the end of a quiet window, and decides nothing before it', () => {
    const quiet = window(10, 2, 10, 120);
    expect(judge(quiet, T, false).verdict).to.equal('pending');
    const j = judge(quiet, T, true);
    expect(j.verdict).to.equal('too_few');
    expect(j.reason).to.equal('too few requests: 12 of 50 over 120 s (error rate 16.67% (2 of 12))');
  });

  it('takes an error rate exactly at the threshold as within it', () => {
    expect(judge(window(99, 1, 10, 60), T, true).verdict).to.equal('passed');
    expect(judge(window(98, 2, 10, 60), T, true).verdict).to.equal('failed');
  });

  it('writes fractions as percentages with at most two decimals', () => {
    expect([0.375, 0.01, 0, 1, 1 / 3].map(percent)).to.deep.equal(['37.5%', '1%', '0%', '100%', '33.33%']);
  });
});
