// A stalled color in the data plane, with backends in processes of their own so SIGSTOP is the real
// thing: the kernel still accepts connections, nothing answers. A color taken out of routing sends
// its new public requests to the preview color without any switch; requests already waiting on it
// get the response timeout, after which a replayable one fails over and any other gets 504.
import { expect } from 'chai';
import type { Color } from '../common/types.js';
import type { Failover } from '../proxy/router.js';
import { BUCKETS } from '../proxy/sticky.js';
import { httpRequest, startBackendProcess, type BackendProcess } from './harness/http-backends.js';
import { colorOf, errorOf, startProxy, type ProxyFixture } from './proxy-fixture.js';

const RESPONSE_TIMEOUT_MS = 1_000;
/** undici checks the response deadline on a coarse timer: it fires up to about a second late. */
const TIMER_SLACK_MS = 1_500;

describe('proxy: a stalled color taken out of routing (SIGSTOP, real processes)', function () {
  this.timeout(30_000);
  let blue: BackendProcess;
  let green: BackendProcess;
  let proxy: ProxyFixture;

  beforeEach(async () => {
    [blue, green] = await Promise.all([startBackendProcess('blue'), startBackendProcess('green')]);
    proxy = await startProxy({ responseTimeoutMs: RESPONSE_TIMEOUT_MS });
    await proxy.router.route({ color: 'blue', port: blue.port }, { color: 'green', port: green.port });
  });

  afterEach(async () => {
    blue.resume();
    await proxy.close();
    await Promise.all([blue.close(), green.close()]);
  });

  const get = (port = proxy.publicPort, path = '/'): Promise<string> =>
    httpRequest(port, path).then((res) => colorOf(res));

  it('sends new public requests to the preview color while the active one is out, and back once it is in', async () => {
    blue.stall();
    proxy.router.takeOut('blue', 'blue stalled (test)');
    expect(await get()).to.equal('green');
    expect(proxy.router.activeColor(), 'no switch: the assignment stays').to.equal('blue');
    expect(proxy.router.servingColor()).to.equal('green');
    expect(await get(proxy.previewPort), 'the preview listener serves green as before').to.equal('green');
    blue.resume();
    proxy.router.putBack('blue');
    expect(await get()).to.equal('blue');
    expect(proxy.router.failover()).to.equal(null);
  });

  it('gives requests already waiting the response timeout: a GET then fails over, a POST gets 504', async () => {
    blue.stall();
    const started = performance.now();
    const waiting = [
      httpRequest(proxy.publicPort, '/'),
      httpRequest(proxy.publicPort, '/', { method: 'POST', body: 'once' }),
    ];
    const [getAnswer, postAnswer] = await Promise.all(waiting);
    const tookMs = performance.now() - started;
    expect(colorOf(getAnswer!), 'the GET was sent again, to green').to.equal('green');
    expect(postAnswer!.status, 'a POST is never sent twice').to.equal(504);
    expect(errorOf(postAnswer!).code).to.equal('gateway_timeout');
    expect(errorOf(postAnswer!).message).to.contain('blue backend');
    expect(tookMs).to.be.within(RESPONSE_TIMEOUT_MS, RESPONSE_TIMEOUT_MS + TIMER_SLACK_MS);
  });

  it('keeps sending to an out active color when no other color can take its requests', async () => {
    await proxy.router.route({ color: 'blue', port: blue.port }, null);
    proxy.router.takeOut('blue', 'blue stalled (test)');
    expect(await get()).to.equal('blue');
    expect(proxy.router.failover()).to.equal(null);
    proxy.router.takeOut('green', 'green stalled (test)');
    await proxy.router.route({ color: 'blue', port: blue.port }, { color: 'green', port: green.port });
    expect(await get(), 'green is out too: no better').to.equal('blue');
  });

  it('sends a canary share out of routing where the rest goes, and a canary request nowhere out', async () => {
    const router = proxy.router;
    await router.setCanary({ color: 'green', port: green.port, weight: 50 });
    const leased = (bucket: number): Color | null => {
      const lease = router.lease('active', bucket);
      lease?.release();
      return lease?.target.color ?? null;
    };
    // Bucket 0 is in any canary share, the last bucket in none (proxy/sticky.ts).
    expect([leased(0), leased(BUCKETS - 1)]).to.deep.equal(['green', 'blue']);
    router.takeOut('green', 'green stalled (test)');
    expect(leased(0), 'the canary is out: its clients go to the active color').to.equal('blue');
    router.putBack('green');
    expect(leased(0)).to.equal('green');
    router.takeOut('blue', 'blue stalled (test)');
    const canaryLease = router.lease('active', 0)!;
    expect(router.failoverLease(canaryLease.target), 'a canary request is not retried on an out color').to.equal(null);
    canaryLease.release();
  });

  it('tells failover listeners when a failover begins and ends, once each, with why', async () => {
    const seen: Array<[Failover | null, Failover | null]> = [];
    const stop = proxy.router.onFailover((now, before) => seen.push([now, before]));
    const failover = (from: Color, to: Color): Failover => ({ from, to, why: `${from} stalled (test)` });
    proxy.router.takeOut('blue', 'blue stalled (test)');
    proxy.router.takeOut('blue', 'a second reason is ignored');
    proxy.router.putBack('green');
    proxy.router.putBack('blue');
    proxy.router.takeOut('blue', 'blue stalled (test)');
    // The operator switches to green: the failover ends with the route, not with blue.
    await proxy.router.route({ color: 'green', port: green.port }, null);
    stop();
    expect(seen).to.deep.equal([
      [failover('blue', 'green'), null],
      [null, failover('blue', 'green')],
      [failover('blue', 'green'), null],
      [null, failover('blue', 'green')],
    ]);
    expect(proxy.router.outOfRouting('blue'), 'blue stays out until it answers').to.equal('blue stalled (test)');
  });
});
