// Upstream failures: what the client gets when a backend refuses, resets, hangs or dies, and the
// failover of idempotent requests to the other (Ready) color. The backends that get killed run in
// processes of their own, so `kill -9` is the real thing.
import { expect } from 'chai';
import { once } from 'node:events';
import http from 'node:http';
import { Pool } from 'undici';
import type { Color } from '../common/types.js';
import {
  httpRequest,
  refusedPort,
  startBackend,
  startBackendProcess,
  waitForEvent,
  type Backend,
  type BackendProcess,
} from './harness/http-backends.js';
import { colorOf, errorOf, startProxy, type ProxyFixture } from './proxy-fixture.js';
import { waitForCondition } from './harness/wait.js';

describe('proxy upstream failures and failover', function () {
  this.timeout(30_000);
  let blue: Backend;
  let green: Backend;
  let proxy: ProxyFixture;

  before(async () => {
    [blue, green] = await Promise.all([startBackend('blue'), startBackend('green')]);
  });

  after(async () => {
    await Promise.all([blue.close(), green.close()]);
  });

  beforeEach(async () => {
    proxy = await startProxy();
  });

  afterEach(() => proxy.close());

  describe('errors', () => {
    it('answers 502 JSON when the backend refuses and there is no other color, and stays up', async () => {
      await proxy.router.setActive('blue', await refusedPort());
      const res = await httpRequest(proxy.publicPort, '/');
      expect(res.status).to.equal(502);
      expect(errorOf(res).code).to.equal('bad_gateway');
      await proxy.router.setActive('blue', blue.port);
      expect(colorOf(await httpRequest(proxy.publicPort, '/'))).to.equal('blue');
    });

    it('answers 504 JSON when the backend does not answer in time', async () => {
      await proxy.close();
      proxy = await startProxy({ responseTimeoutMs: 200 });
      await proxy.router.setActive('blue', blue.port);
      const res = await httpRequest(proxy.publicPort, '/hang');
      expect(res.status).to.equal(504);
      expect(errorOf(res).code).to.equal('gateway_timeout');
    });

    it('aborts the upstream request when the client goes away', async () => {
      await proxy.router.setActive('blue', blue.port);
      const arrived = waitForEvent<string>(blue.events, 'request', (p) => p === '/hang', 2_000);
      const aborted = waitForEvent<string>(blue.events, 'aborted', (p) => p === '/hang', 3_000);
      const req = http.request({ host: '127.0.0.1', port: proxy.publicPort, path: '/hang', agent: false });
      req.on('error', () => undefined);
      req.end();
      await arrived;
      expect(proxy.router.active?.inFlight).to.equal(1);
      req.destroy();
      await aborted;
      await waitForCondition('blue to finish its requests', () => proxy.router.active?.inFlight === 0, 2_000);
    });
  });

  describe('failover to the other Ready color', () => {
    it('retries an idempotent request once on the preview color when the active one refuses', async () => {
      await proxy.router.route({ color: 'blue', port: await refusedPort() }, { color: 'green', port: green.port });
      expect(colorOf(await httpRequest(proxy.publicPort, '/'))).to.equal('green');
      const put = await httpRequest(proxy.publicPort, '/echo', { method: 'PUT', body: 'replayed body' });
      expect(put.status).to.equal(200);
      expect(put.body).to.equal('replayed body');
      expect(put.headers['x-backend-color']).to.equal('green');
      await waitForCondition(
        'both colors to finish their requests',
        () => proxy.router.preview?.inFlight === 0 && proxy.router.active?.inFlight === 0,
        2_000,
      );
    });

    it('retries when the active color resets the connection before answering', async () => {
      await proxy.router.route({ color: 'blue', port: blue.port }, { color: 'green', port: green.port });
      const seenOnBlue = waitForEvent<string>(blue.events, 'request', (p) => p === '/reset', 2_000);
      expect(colorOf(await httpRequest(proxy.publicPort, '/reset?color=blue'))).to.equal('green');
      await seenOnBlue;
      const del = await httpRequest(proxy.publicPort, '/reset?color=blue', { method: 'DELETE' });
      expect(colorOf(del)).to.equal('green');
    });

    it('does not retry a request that is not idempotent, or whose body was not kept: 502', async () => {
      await proxy.router.route({ color: 'blue', port: blue.port }, { color: 'green', port: green.port });
      const greenBefore = green.served;
      const post = await httpRequest(proxy.publicPort, '/reset?color=blue', { method: 'POST', body: 'once' });
      expect(post.status).to.equal(502);
      expect(errorOf(post).code).to.equal('bad_gateway');
      const bigPut = await httpRequest(proxy.publicPort, '/reset?color=blue', {
        method: 'PUT',
        body: Buffer.alloc(100 * 1024, 1),
      });
      expect(bigPut.status).to.equal(502);
      expect(green.served).to.equal(greenBefore);
    });

    it('does not retry once the answer has started: the client sees the cut', async () => {
      await proxy.router.route({ color: 'blue', port: blue.port }, { color: 'green', port: green.port });
      const greenBefore = green.served;
      const req = http.get({ host: '127.0.0.1', port: proxy.publicPort, path: '/cut', agent: false });
      req.on('error', () => undefined); // the cut, seen below as an incomplete answer
      const [res] = (await once(req, 'response')) as [http.IncomingMessage];
      expect(res.statusCode).to.equal(200);
      const complete = new Promise<boolean>((resolve) => res.once('close', () => resolve(res.complete)));
      res.on('error', () => undefined);
      res.resume();
      blue.events.emit('cut');
      expect(await complete, 'the client sees the answer cut short').to.equal(false);
      expect(green.served).to.equal(greenBefore);
    });

    it('never fails over on the preview listener: it serves one color on purpose', async () => {
      await proxy.router.route({ color: 'blue', port: blue.port }, { color: 'green', port: await refusedPort() });
      const res = await httpRequest(proxy.previewPort, '/');
      expect(res.status).to.equal(502);
    });
  });

  describe('a backend killed under load', () => {
    let processes: BackendProcess[] = [];

    afterEach(async () => {
      await Promise.all(processes.map((p) => p.close()));
      processes = [];
    });

    it('kill -9 of the active color under GET load: zero failed requests; both dead: 503 + Retry-After', async () => {
      const [bluePs, greenPs] = await Promise.all([startBackendProcess('blue'), startBackendProcess('green')]);
      processes = [bluePs, greenPs];
      await proxy.router.route({ color: 'blue', port: bluePs.port }, { color: 'green', port: greenPs.port });

      const load = new GetLoad(proxy.publicPort, 32);
      await waitForCondition('500 answers from blue', () => load.count('blue') >= 500, 10_000);
      await bluePs.kill();
      const atKill = load.total;
      await waitForCondition(
        '2000 answers from green after the kill',
        () => load.count('green') >= 2_000 && load.total >= atKill + 2_000,
        10_000,
      );
      const result = await load.stop();
      expect(result.failures.slice(0, 5), `${result.failed} of ${load.total} requests failed`).to.deep.equal([]);
      expect(result.failed).to.equal(0);

      await greenPs.kill();
      const res = await httpRequest(proxy.publicPort, '/');
      expect(res.status).to.equal(503);
      expect(res.headers['retry-after']).to.equal('5');
      expect(errorOf(res).code).to.equal('backends_down');

      // Still serving: the process survived every reset and refusal.
      await proxy.router.route({ color: 'blue', port: blue.port }, null);
      expect(colorOf(await httpRequest(proxy.publicPort, '/'))).to.equal('blue');
    });
  });
});

/** Keep-alive GETs from `clients` connections until stopped; hard caps on count and time. */
class GetLoad {
  static readonly MAX_REQUESTS = 200_000;
  static readonly MAX_MS = 20_000;
  readonly #pool: Pool;
  readonly #colors = new Map<Color, number>();
  readonly #failures: string[] = [];
  readonly #done: Promise<void>;
  readonly #until = Date.now() + GetLoad.MAX_MS;
  #failed = 0;
  #stopped = false;
  total = 0;

  constructor(port: number, clients: number) {
    this.#pool = new Pool(`http://127.0.0.1:${port}`, { connections: clients, pipelining: 1 });
    this.#done = Promise.all(Array.from({ length: clients }, () => this.#client())).then(() => undefined);
  }

  count(color: Color): number {
    return this.#colors.get(color) ?? 0;
  }

  async stop(): Promise<{ failed: number; failures: string[] }> {
    this.#stopped = true;
    await this.#done;
    await this.#pool.close();
    return { failed: this.#failed, failures: this.#failures };
  }

  async #client(): Promise<void> {
    while (!this.#stopped && this.total < GetLoad.MAX_REQUESTS && Date.now() < this.#until) {
      this.total += 1;
      try {
        const res = await this.#pool.request({ path: '/', method: 'GET', headersTimeout: 5_000, bodyTimeout: 5_000 });
        const body = await res.body.text();
        if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}: ${body.slice(0, 200)}`);
        const color = (JSON.parse(body) as { color: Color }).color;
        this.#colors.set(color, this.count(color) + 1);
      } catch (err) {
        this.#failed += 1;
        if (this.#failures.length < 10) this.#failures.push((err as Error).message);
      }
    }
  }
}
