// A starting daemon's proxy before its first routing decision: requests that find no target wait
// for that decision (bounded) instead of getting 503 for a color that is about to be routed.
// Real loopback backends and listeners.
import { expect } from 'chai';
import { once } from 'node:events';
import { httpRequest, startBackend, type Backend } from './harness/http-backends.js';
import { connectWebSocket } from './harness/ws.js';
import { colorOf, errorOf, startProxy, type ProxyFixture } from './proxy-fixture.js';

/** A decision the test takes by hand, as the daemon's first pass would. */
function decision(): { decided: Promise<void>; decide(): void } {
  let decide = (): void => undefined;
  const decided = new Promise<void>((resolve) => (decide = resolve));
  return { decided, decide };
}

describe('proxy: requests wait for the first routing decision', function () {
  let blue: Backend;
  let proxy: ProxyFixture;

  before(async () => {
    blue = await startBackend('blue');
  });
  after(async () => {
    await blue.close();
  });
  beforeEach(async () => {
    proxy = await startProxy();
  });
  afterEach(() => proxy.close());

  it('serves a request that arrived before the first decision from the color it routes to', async () => {
    const { decided, decide } = decision();
    proxy.router.holdUntil(decided, 10_000);
    const arrived = once(proxy.publicServer, 'request');
    const answer = httpRequest(proxy.publicPort, '/');
    await arrived;
    await proxy.router.setActive('blue', blue.port);
    decide();
    expect(colorOf(await answer)).to.equal('blue');
  });

  it('answers 503 once a decision routes nothing, and at once from then on', async () => {
    const { decided, decide } = decision();
    proxy.router.holdUntil(decided, 10_000);
    const arrived = once(proxy.publicServer, 'request');
    const answer = httpRequest(proxy.publicPort, '/');
    await arrived;
    decide();
    expect(errorOf(await answer).code).to.equal('no_ready_color');
    const started = Date.now();
    expect((await httpRequest(proxy.publicPort, '/')).status).to.equal(503);
    expect(Date.now() - started).to.be.below(1_000);
  });

  it('answers 503 when no decision comes within the bound', async () => {
    proxy.router.holdUntil(new Promise(() => undefined), 300);
    const started = Date.now();
    const answer = await httpRequest(proxy.publicPort, '/');
    expect(answer.status).to.equal(503);
    expect(Date.now() - started).to.be.within(250, 5_000);
  });

  it('holds a websocket upgrade the same way', async () => {
    const { decided, decide } = decision();
    proxy.router.holdUntil(decided, 10_000);
    const arrived = once(proxy.publicServer, 'upgrade');
    const connecting = connectWebSocket(proxy.publicPort, '/ws', 5_000);
    await arrived;
    await proxy.router.setActive('blue', blue.port);
    decide();
    const { peer } = await connecting;
    peer.send('hello');
    expect(await peer.next(2_000)).to.equal('blue:hello');
    await peer.close(1_000);
  });
});
