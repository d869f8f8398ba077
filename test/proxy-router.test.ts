// The proxy data plane against real loopback backends: routing, switching, draining, the API
// prefix, the preview listener, header rules, upstream failures and websockets.
import { expect } from 'chai';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import net from 'node:net';
import { ValidationError } from '../common/errors.js';
import { Router } from '../proxy/router.js';
import { closeServer, createProxyServer, listen } from '../proxy/server.js';
import {
  httpRequest,
  refusedPort,
  slowBody,
  startBackend,
  waitForEvent,
  type Backend,
  type SimpleResponse,
} from './harness/http-backends.js';
import { connectWebSocket, HandshakeRefusedError } from './harness/ws.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function apiHandler(req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ api: true, url: req.url }));
}

function colorOf(res: SimpleResponse): string {
  expect(res.status, res.body).to.equal(200);
  return (JSON.parse(res.body) as { color: string }).color;
}

function errorOf(res: SimpleResponse): { code: string; message: string } {
  expect(res.headers['content-type']).to.match(/^application\/json/);
  return (JSON.parse(res.body) as { error: { code: string; message: string } }).error;
}

describe('proxy router and data plane', function () {
  let blue: Backend;
  let green: Backend;
  let router: Router;
  let publicServer: Server;
  let previewServer: Server;
  let publicPort: number;
  let previewPort: number;

  before(async () => {
    [blue, green] = await Promise.all([startBackend('blue'), startBackend('green')]);
  });

  after(async () => {
    await Promise.all([blue.close(), green.close()]);
  });

  async function startProxy(options: ConstructorParameters<typeof Router>[0] = {}): Promise<void> {
    router = new Router({ drainTimeoutMs: 2_000, ...options });
    publicServer = createProxyServer({ router, apiHandler, which: 'public' });
    previewServer = createProxyServer({ router, which: 'preview' });
    publicPort = (await listen(publicServer, '127.0.0.1', 0)).port;
    previewPort = (await listen(previewServer, '127.0.0.1', 0)).port;
  }

  beforeEach(() => startProxy());

  afterEach(async () => {
    await Promise.all([closeServer(publicServer, 1_000), closeServer(previewServer, 1_000)]);
    await router.close(1_000);
  });

  describe('routing and switching', () => {
    it('proxies to the active backend', async () => {
      await router.setActive('blue', blue.port);
      const res = await httpRequest(publicPort, '/anything?q=1');
      expect(colorOf(res)).to.equal('blue');
      expect(JSON.parse(res.body)).to.include({ path: '/anything', method: 'GET' });
      expect(router.activeColor()).to.equal('blue');
    });

    it('sends new requests to the new color after a switch', async () => {
      await router.setActive('blue', blue.port);
      expect(colorOf(await httpRequest(publicPort, '/'))).to.equal('blue');
      void router.setActive('green', green.port);
      expect(router.activeColor()).to.equal('green');
      expect(colorOf(await httpRequest(publicPort, '/'))).to.equal('green');
    });

    it('treats setting the same color and port again as a no-op', async () => {
      await router.setActive('blue', blue.port);
      const target = router.active;
      expect(await router.setActive('blue', blue.port)).to.equal(null);
      expect(router.active).to.equal(target);
      expect(target?.state).to.equal('serving');
    });

    it('lets a slow request started before a switch finish on the old backend, body intact', async () => {
      await router.setActive('blue', blue.port);
      const arrived = waitForEvent<string>(blue.events, 'request', (p) => p === '/slow', 2_000);
      const slow = httpRequest(publicPort, '/slow?ms=400');
      await arrived;
      const drained = router.setActive('green', green.port);
      expect(colorOf(await httpRequest(publicPort, '/'))).to.equal('green');
      const res = await slow;
      const { first, rest } = slowBody('blue');
      expect(res.status).to.equal(200);
      expect(res.headers['x-backend-color']).to.equal('blue');
      expect(res.body).to.equal(first + rest);
      const result = await drained;
      expect(result).to.include({ color: 'blue', idle: true, inFlight: 0 });
    });

    it('answers 503 with Retry-After and JSON when no color is routed', async () => {
      for (const port of [publicPort, previewPort]) {
        const res = await httpRequest(port, '/');
        expect(res.status).to.equal(503);
        expect(res.headers['retry-after']).to.equal('5');
        const error = errorOf(res);
        expect(error.code).to.equal('no_ready_color');
        expect(error.message).to.match(/no Ready color/);
      }
      await router.setActive('blue', blue.port);
      await router.setActive(null);
      expect((await httpRequest(publicPort, '/')).status).to.equal(503);
    });

    it('sends /hypervisor paths to the API handler and never to a backend', async () => {
      await router.setActive('blue', blue.port);
      const before = blue.served;
      for (const path of ['/hypervisor', '/hypervisor/', '/hypervisor/status?x=1', '/hypervisor/../etc']) {
        const res = await httpRequest(publicPort, path);
        expect(res.status).to.equal(200);
        expect(JSON.parse(res.body)).to.deep.equal({ api: true, url: path });
      }
      expect(blue.served).to.equal(before);
      expect(colorOf(await httpRequest(publicPort, '/hypervisorx'))).to.equal('blue');
      const preview = await httpRequest(previewPort, '/hypervisor/status');
      expect(preview.status).to.equal(404);
      expect(blue.served).to.equal(before + 1);
    });

    it('serves the preview color on the preview listener', async () => {
      await router.route({ color: 'blue', port: blue.port }, { color: 'green', port: green.port });
      expect(colorOf(await httpRequest(publicPort, '/'))).to.equal('blue');
      expect(colorOf(await httpRequest(previewPort, '/'))).to.equal('green');
      expect(router.previewColor()).to.equal('green');
      await router.route({ color: 'green', port: green.port }, { color: 'blue', port: blue.port });
      expect(colorOf(await httpRequest(publicPort, '/'))).to.equal('green');
      expect(colorOf(await httpRequest(previewPort, '/'))).to.equal('blue');
    });

    it('rejects a bad color, port or option with the bad value in the message', () => {
      expect(() => router.setActive('blue', 0)).to.throw(ValidationError, /port.*0/);
      expect(() => router.setActive('red' as 'blue', 8001)).to.throw(ValidationError, /red/);
      expect(() => new Router({ drainTimeoutMs: -1 })).to.throw(ValidationError, /drainTimeoutMs.*-1/);
      expect(router.activeColor()).to.equal(null);
    });
  });

  describe('headers', () => {
    beforeEach(() => router.setActive('blue', blue.port));

    it('replaces X-Forwarded-*, strips hop-by-hop fields and creates X-Request-Id', async () => {
      const res = await httpRequest(publicPort, '/headers', {
        headers: {
          host: 'example.test',
          'x-forwarded-for': '6.6.6.6',
          'x-forwarded-proto': 'https',
          connection: 'X-Secret',
          'x-secret': 'leak',
          'keep-alive': 'timeout=5',
          'proxy-authorization': 'Basic Zm9v',
          te: 'trailers',
          'x-kept': 'yes',
        },
      });
      const seen = (JSON.parse(res.body) as { headers: Record<string, string> }).headers;
      expect(seen['x-forwarded-for']).to.equal('127.0.0.1');
      expect(seen['x-forwarded-proto']).to.equal('http');
      expect(seen['x-forwarded-host']).to.equal('example.test');
      expect(seen.host).to.equal('example.test');
      expect(seen['x-kept']).to.equal('yes');
      for (const name of ['x-secret', 'keep-alive', 'proxy-authorization', 'te']) expect(seen).not.to.have.property(name);
      expect(seen['x-request-id']).to.match(UUID);
      expect(res.headers['x-request-id']).to.equal(seen['x-request-id']);
    });

    it('passes on a client X-Request-Id', async () => {
      const res = await httpRequest(publicPort, '/headers', { headers: { 'x-request-id': 'req-42.abc' } });
      const seen = (JSON.parse(res.body) as { headers: Record<string, string> }).headers;
      expect(seen['x-request-id']).to.equal('req-42.abc');
      expect(res.headers['x-request-id']).to.equal('req-42.abc');
    });

    it('strips the hop-by-hop fields of the response', async () => {
      const res = await httpRequest(publicPort, '/hop');
      expect(res.status).to.equal(200);
      expect(res.body).to.equal('ok');
      expect(res.headers['x-kept']).to.equal('yes');
      expect(res.headers).not.to.have.property('x-upstream-secret');
    });

    it('streams a request body to the backend and back', async () => {
      const body = randomBytes(1024 * 1024).toString('base64');
      const res = await httpRequest(publicPort, '/echo', { method: 'POST', body, headers: { 'content-type': 'text/plain' } });
      expect(res.status).to.equal(200);
      expect(res.body.length).to.equal(body.length);
      expect(res.body === body).to.equal(true);
    });
  });

  describe('upstream failures', () => {
    it('answers 502 JSON when the backend refuses, and stays up', async () => {
      await router.setActive('blue', await refusedPort());
      const res = await httpRequest(publicPort, '/');
      expect(res.status).to.equal(502);
      expect(errorOf(res).code).to.equal('bad_gateway');
      await router.setActive('blue', blue.port);
      expect(colorOf(await httpRequest(publicPort, '/'))).to.equal('blue');
    });

    it('answers 504 JSON when the backend does not answer in time', async () => {
      await closeServer(publicServer, 1_000);
      await closeServer(previewServer, 1_000);
      await router.close(1_000);
      await startProxy({ responseTimeoutMs: 200 });
      await router.setActive('blue', blue.port);
      const res = await httpRequest(publicPort, '/hang');
      expect(res.status).to.equal(504);
      expect(errorOf(res).code).to.equal('gateway_timeout');
    });

    it('aborts the upstream request when the client goes away', async () => {
      await router.setActive('blue', blue.port);
      const arrived = waitForEvent<string>(blue.events, 'request', (p) => p === '/hang', 2_000);
      const aborted = waitForEvent<string>(blue.events, 'aborted', (p) => p === '/hang', 3_000);
      const req = http.request({ host: '127.0.0.1', port: publicPort, path: '/hang', agent: false });
      req.on('error', () => undefined);
      req.end();
      await arrived;
      expect(router.active?.inFlight).to.equal(1);
      req.destroy();
      await aborted;
      await waitUntil(() => router.active?.inFlight === 0, 2_000);
    });
  });

  describe('listeners', () => {
    it('sets server timeouts and closes idle keep-alive sockets and websockets on close', async () => {
      expect(publicServer.headersTimeout).to.equal(30_000);
      expect(publicServer.requestTimeout).to.equal(300_000);
      expect(publicServer.keepAliveTimeout).to.equal(65_000);
      await router.setActive('blue', blue.port);
      const agent = new http.Agent({ keepAlive: true });
      const idle = await new Promise<number>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port: publicPort, path: '/', agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        }).on('error', reject);
      });
      expect(idle).to.equal(200);
      const { peer } = await connectWebSocket(publicPort, '/ws', 2_000);
      const started = Date.now();
      await closeServer(publicServer, 300);
      const took = Date.now() - started;
      agent.destroy();
      expect(took).to.be.lessThan(1_500);
      await waitUntil(() => peer.closed, 2_000);
      expect(publicServer.listening).to.equal(false);
    });
  });

  describe('websockets', () => {
    it('echoes through the proxy and keeps an open socket on its color across a switch', async () => {
      await router.setActive('blue', blue.port);
      const { peer } = await connectWebSocket(publicPort, '/ws', 2_000);
      peer.send('hello');
      expect(await peer.next(2_000)).to.equal('blue:hello');
      peer.send('?headers');
      const headers = JSON.parse(await peer.next(2_000)) as Record<string, string>;
      expect(headers['x-forwarded-for']).to.equal('127.0.0.1');
      expect(headers['x-request-id']).to.match(UUID);

      void router.setActive('green', green.port);
      peer.send('still');
      expect(await peer.next(2_000)).to.equal('blue:still');
      const second = await connectWebSocket(publicPort, '/ws', 2_000);
      second.peer.send('new');
      expect(await second.peer.next(2_000)).to.equal('green:new');
      await Promise.all([peer.close(1_000), second.peer.close(1_000)]);
    });

    it('refuses an upgrade with 503 when no color is routed and 502 when the backend is down', async () => {
      const none = await connectWebSocket(publicPort, '/ws', 2_000).catch((err: Error) => err);
      expect(none).to.be.instanceOf(HandshakeRefusedError);
      expect((none as HandshakeRefusedError).status).to.equal(503);
      await router.setActive('blue', await refusedPort());
      const down = await connectWebSocket(publicPort, '/ws', 2_000).catch((err: Error) => err);
      expect((down as HandshakeRefusedError).status).to.equal(502);
      expect(JSON.parse((down as HandshakeRefusedError).body)).to.have.nested.property('error.code', 'bad_gateway');
    });

    it('survives a client reset after a non-101 answer', async () => {
      await router.setActive('blue', blue.port);
      for (let i = 0; i < 5; i += 1) {
        const socket = net.connect(publicPort, '127.0.0.1');
        socket.on('error', () => undefined);
        socket.write(
          'GET /ws-reject HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
            'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
        );
        const [first] = (await once(socket, 'data')) as [Buffer];
        expect(first.toString('latin1')).to.match(/^HTTP\/1\.1 404/);
        socket.resetAndDestroy();
        await once(socket, 'close');
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(colorOf(await httpRequest(publicPort, '/'))).to.equal('blue');
      await waitUntil(() => router.active?.inFlight === 0, 2_000);
    });
  });
});

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs}ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
