// The proxy's meter, alone, on an injected clock: counts by method and status, windows as the
// difference of two readings, the minute history of the last hour, and the latency quantile.
import { expect } from 'chai';
import { LATENCY_BOUNDS, LATENCY_BUCKETS, quantile } from '../common/latency.js';
import { windowBetween } from '../common/traffic.js';
import { CLIENT_CLOSED, TrafficMeter } from '../proxy/meter.js';

const MINUTE = 60_000;
/** 2026-11-27T14:00:00Z: a whole minute, so the history's minute starts are readable. */
const ORIGIN = Date.parse('2026-11-27T14:00:00.000Z');

describe('proxy meter', () => {
  let now: number;
  let meter: TrafficMeter;
  const answer = (color: 'blue' | 'green', method: string, status: number, ms: number): void => {
    const started = now;
    now += ms;
    meter.answered(color, method, status, started);
  };

  beforeEach(() => {
    now = 0;
    meter = new TrafficMeter({ now: () => now, origin: ORIGIN });
  });

  it('counts answers per color, method and status; any other method is OTHER', () => {
    answer('blue', 'GET', 200, 1);
    answer('blue', 'GET', 200, 1);
    answer('blue', 'POST', 503, 1);
    answer('blue', 'BREW', 418, 1);
    answer('green', 'GET', CLIENT_CLOSED, 1);
    expect(meter.answers('blue')).to.deep.equal([
      { method: 'GET', code: 200, count: 2 },
      { method: 'POST', code: 503, count: 1 },
      { method: 'OTHER', code: 418, count: 1 },
    ]);
    expect(meter.answers('green')).to.deep.equal([{ method: 'GET', code: 499, count: 1 }]);
    expect(meter.totals('blue')).to.deep.include({ answered: 4, serverErrors: 1, failedOver: 0 });
    expect(meter.totals('green')).to.deep.include({ answered: 1, serverErrors: 0 });
  });

  it('keeps a latency histogram whose count and sum are the answers', () => {
    answer('blue', 'GET', 200, 3);
    answer('blue', 'GET', 200, 700);
    const latency = meter.latency('blue');
    expect(latency.count).to.equal(2);
    expect(latency.sum).to.be.closeTo(0.703, 1e-9);
    expect(latency.counts).to.have.length(LATENCY_BUCKETS);
    expect(latency.counts[LATENCY_BOUNDS.indexOf(0.005)]).to.equal(1);
    expect(latency.counts[LATENCY_BOUNDS.indexOf(0.75)]).to.equal(1);
  });

  it('makes a window of the difference of two readings, connection failures included', () => {
    answer('green', 'GET', 500, 5);
    const from = meter.totals('green');
    answer('green', 'GET', 200, 5);
    answer('green', 'GET', 502, 5);
    meter.failed('green', 'refused', true);
    meter.failed('green', 'reset', false); // answered with a 5xx of its own, counted there
    now = from.atMs + 41_000;
    const w = windowBetween(from, meter.totals('green'));
    expect(w).to.deep.include({ seconds: 41, requests: 3, errors: 2 });
    expect(w.latency.reduce((a, b) => a + b, 0)).to.equal(2);
    expect(meter.failures('green')).to.deep.equal({ refused: 1, reset: 1, timeout: 0, bad_response: 0 });
  });

  it('keeps the last hour minute by minute, zeros for quiet minutes, and forgets what is older', () => {
    answer('blue', 'GET', 200, 10);
    answer('blue', 'GET', 500, 10);
    now = 2 * MINUTE + 1;
    answer('blue', 'GET', 200, 100);
    let history = meter.history();
    expect(history.minutes).to.equal(60);
    const blue = history.colors.blue;
    expect(blue).to.have.length(60);
    expect(blue.at(-1)).to.deep.include({ start: '2026-11-27T14:02:00.000Z', requests: 1, errors: 0 });
    expect(blue.at(-2)).to.deep.equal({ start: '2026-11-27T14:01:00.000Z', requests: 0, errors: 0, p99Seconds: null });
    expect(blue.at(-3)).to.deep.include({ start: '2026-11-27T14:00:00.000Z', requests: 2, errors: 1 });
    expect(blue.at(-3)!.p99Seconds).to.be.within(0.005, 0.01);
    expect(history.colors.green.every((m) => m.requests === 0)).to.equal(true);

    now = 61 * MINUTE; // the 14:00 slot is reused for 15:01
    answer('blue', 'GET', 200, 1);
    history = meter.history();
    expect(history.colors.blue[0]!.start).to.equal('2026-11-27T14:02:00.000Z');
    expect(history.colors.blue.reduce((sum, m) => sum + m.requests, 0)).to.equal(2);
  });

  it('interpolates a quantile within its bucket, and is null without counts', () => {
    const counts = new Array<number>(LATENCY_BUCKETS).fill(0);
    expect(quantile(counts, 0.99)).to.equal(null);
    counts[LATENCY_BOUNDS.indexOf(2.5)] = 100; // all in (2, 2.5]
    expect(quantile(counts, 0.5)).to.be.closeTo(2.25, 1e-9);
    counts[LATENCY_BUCKETS - 1] = 100; // half above the last bound
    expect(quantile(counts, 0.99)).to.equal(LATENCY_BOUNDS.at(-1));
  });
});
