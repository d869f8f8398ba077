// The proxy data plane against real loopback backends: routing, switching, draining, the API
// prefix, the preview listener and the header rules (trusted proxies included).
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { ValidationError } from '../common/errors.js';
import { Router } from '../proxy/router.js';
import { closeServer, createProxyServer } from '../proxy/server.js';
import { httpRequest, slowBody, startBackend, waitForEvent, type Backend } from './harness/http-backends.js';
import { connectWebSocket } from './harness/ws.js';
import { colorOf, errorOf, seenHeaders, startProxy, UUID, type ProxyFixture } from './proxy-fixture.js';

describe('proxy router and data plane', function () {
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

  describe('routing and switching', () => {
    it('proxies to the active backend', async () => {
      await proxy.router.setActive('blue', blue.port);
      const res = await httpRequest(proxy.publicPort, '/anything?q=1');
      expect(colorOf(res)).to.equal('blue');
      expect(JSON.parse(res.body)).to.include({ path: '/anything', method: 'GET' });
      expect(proxy.router.activeColor()).to.equal('blue');
    });

    it('sends new requests to the new color after a switch', async () => {
      await proxy.router.setActive('blue', blue.port);
      expect(colorOf(await httpRequest(proxy.publicPort, '/'))).to.equal('blue');
      void proxy.router.setActive('green', green.port);
      expect(proxy.router.activeColor()).to.equal('green');
      expect(colorOf(await httpRequest(proxy.publicPort, '/'))).to.equal('green');
    });

    it('treats setting the same color and port again as a no-op', async () => {
      await proxy.router.setActive('blue', blue.port);
      const target = proxy.router.active;
      expect(await proxy.router.setActive('blue', blue.port)).to.equal(null);
      expect(proxy.router.active).to.equal(target);
      expect(target?.state).to.equal('serving');
    });

    it('lets a slow request started before a switch finish on the old backend, body intact', async () => {
      await proxy.router.setActive('blue', blue.port);
      const arrived = waitForEvent<string>(blue.events, 'request', (p) => p === '/slow', 2_000);
      const slow = httpRequest(proxy.publicPort, '/slow?ms=400');
      await arrived;
      const drained = proxy.router.setActive('green', green.port);
      expect(colorOf(await httpRequest(proxy.publicPort, '/'))).to.equal('green');
      const res = await slow;
      const { first, rest } = slowBody('blue');
      expect(res.status).to.equal(200);
      expect(res.headers['x-backend-color']).to.equal('blue');
      expect(res.body).to.equal(first + rest);
      expect(await drained).to.include({ color: 'blue', idle: true, inFlight: 0, closedWebSockets: 0 });
    });

    it('answers 503 with Retry-After and JSON when no color is routed', async () => {
      for (const port of [proxy.publicPort, proxy.previewPort]) {
        const res = await httpRequest(port, '/');
        expect(res.status).to.equal(503);
        expect(res.headers['retry-after']).to.equal('5');
        const error = errorOf(res);
        expect(error.code).to.equal('no_ready_color');
        expect(error.message).to.match(/no Ready color/);
      }
      await proxy.router.setActive('blue', blue.port);
      await proxy.router.setActive(null);
      expect((await httpRequest(proxy.publicPort, '/')).status).to.equal(503);
    });

    it('sends /hypervisor paths to the API handler and never to a backend', async () => {
      await proxy.router.setActive('blue', blue.port);
      const before = blue.served;
      for (const path of ['/hypervisor', '/hypervisor/', '/hypervisor/status?x=1', '/hypervisor/../etc']) {
        const res = await httpRequest(proxy.publicPort, path);
        expect(res.status).to.equal(200);
        expect(JSON.parse(res.body)).to.deep.equal({ api: true, url: path });
      }
      expect(blue.served).to.equal(before);
      expect(colorOf(await httpRequest(proxy.publicPort, '/hypervisorx'))).to.equal('blue');
      const preview = await httpRequest(proxy.previewPort, '/hypervisor/status');
      expect(preview.status).to.equal(404);
      expect(blue.served).to.equal(before + 1);
    });

    it('serves the preview color on the preview listener', async () => {
      await proxy.router.route({ color: 'blue', port: blue.port }, { color: 'green', port: green.port });
      expect(colorOf(await httpRequest(proxy.publicPort, '/'))).to.equal('blue');
      expect(colorOf(await httpRequest(proxy.previewPort, '/'))).to.equal('green');
      expect(proxy.router.previewColor()).to.equal('green');
      await proxy.router.route({ color: 'green', port: green.port }, { color: 'blue', port: blue.port });
      expect(colorOf(await httpRequest(proxy.publicPort, '/'))).to.equal('green');
      expect(colorOf(await httpRequest(proxy.previewPort, '/'))).to.equal('blue');
    });

    it('rejects a bad color, port or option with the bad value in the message', () => {
      expect(() => proxy.router.setActive('blue', 0)).to.throw(ValidationError, /port.*0/);
      expect(() => proxy.router.setActive('red' as 'blue', 8001)).to.throw(ValidationError, /red/);
      expect(() => new Router({ drainTimeoutMs: -1 })).to.throw(ValidationError, /drainTimeoutMs.*-1/);
      const router = new Router();
      expect(() => createProxyServer({ router, which: 'public', trustedProxies: ['10.0.0.0/33'] })).to.throw(
        ValidationError,
        /trustedProxies\[0\].*10\.0\.0\.0\/33/,
      );
      expect(() => createProxyServer({ router, which: 'public', maxBodyBytes: -1 })).to.throw(
        ValidationError,
        /maxBodyBytes.*-1/,
      );
      expect(proxy.router.activeColor()).to.equal(null);
    });
  });

  describe('headers', () => {
    beforeEach(() => proxy.router.setActive('blue', blue.port));

    it('replaces a client-sent X-Forwarded-For, -Proto and -Host with its own', async () => {
      const seen = seenHeaders(
        await httpRequest(proxy.publicPort, '/headers', {
          headers: {
            host: 'example.test',
            'x-forwarded-for': '6.6.6.6',
            'x-forwarded-proto': 'https',
            'x-forwarded-host': 'evil.test',
            forwarded: 'for=6.6.6.6',
          },
        }),
      );
      expect(seen['x-forwarded-for']).to.equal('127.0.0.1');
      expect(seen['x-forwarded-proto']).to.equal('http');
      expect(seen['x-forwarded-host']).to.equal('example.test');
      expect(seen.host).to.equal('example.test');
      expect(seen).not.to.have.property('forwarded');
    });

    it('drops other X-Forwarded-* and X-Real-IP of an untrusted client, in requests and ws handshakes', async () => {
      const forged = {
        'x-real-ip': '6.6.6.6',
        'x-forwarded-port': '443',
        'x-forwarded-ssl': 'on',
        'X-Forwarded-Prefix': '/admin',
        'x-forwarded-client-cert': 'x',
        'x-kept': 'yes',
      };
      const seen = seenHeaders(await httpRequest(proxy.publicPort, '/headers', { headers: forged }));
      const { peer } = await connectWebSocket(proxy.publicPort, '/ws', 2_000, forged);
      peer.send('?headers');
      const wsSeen = JSON.parse(await peer.next(2_000)) as Record<string, string>;
      await peer.close(1_000);
      for (const fields of [seen, wsSeen]) {
        for (const name of [
          'x-real-ip',
          'x-forwarded-port',
          'x-forwarded-ssl',
          'x-forwarded-prefix',
          'x-forwarded-client-cert',
        ]) {
          expect(fields).not.to.have.property(name);
        }
        expect(fields['x-forwarded-for']).to.equal('127.0.0.1');
        expect(fields['x-kept']).to.equal('yes');
      }
    });

    it('strips the fields a client names in Connection (Connection: X-Secret strips X-Secret)', async () => {
      const seen = seenHeaders(
        await httpRequest(proxy.publicPort, '/headers', {
          headers: { connection: 'X-Secret, x-other', 'x-secret': 'leak', 'x-other': 'leak', 'x-kept': 'yes' },
        }),
      );
      expect(seen).not.to.have.property('x-secret');
      expect(seen).not.to.have.property('x-other');
      expect(seen['x-kept']).to.equal('yes');
    });

    it('strips Keep-Alive, TE and Proxy-* fields', async () => {
      const seen = seenHeaders(
        await httpRequest(proxy.publicPort, '/headers', {
          headers: {
            'keep-alive': 'timeout=5',
            te: 'trailers',
            'proxy-authorization': 'Basic Zm9v',
            'proxy-connection': 'keep-alive',
          },
        }),
      );
      for (const name of ['keep-alive', 'te', 'proxy-authorization', 'proxy-connection'])
        expect(seen).not.to.have.property(name);
    });

    it('strips Upgrade from a request that is not a websocket upgrade', async () => {
      const seen = seenHeaders(await httpRequest(proxy.publicPort, '/headers', { headers: { upgrade: 'websocket' } }));
      expect(seen).not.to.have.property('upgrade');
    });

    it('creates an X-Request-Id, passes a usable one on and replaces an unusable one', async () => {
      const created = await httpRequest(proxy.publicPort, '/headers');
      expect(seenHeaders(created)['x-request-id']).to.match(UUID);
      expect(created.headers['x-request-id']).to.equal(seenHeaders(created)['x-request-id']);
      const given = await httpRequest(proxy.publicPort, '/headers', { headers: { 'x-request-id': 'req-42.abc' } });
      expect(seenHeaders(given)['x-request-id']).to.equal('req-42.abc');
      expect(given.headers['x-request-id']).to.equal('req-42.abc');
      const unusable = await httpRequest(proxy.publicPort, '/headers', { headers: { 'x-request-id': 'two words' } });
      expect(seenHeaders(unusable)['x-request-id']).to.match(UUID);
    });

    it('strips the hop-by-hop fields of the response', async () => {
      const res = await httpRequest(proxy.publicPort, '/hop');
      expect(res.status).to.equal(200);
      expect(res.body).to.equal('ok');
      expect(res.headers['x-kept']).to.equal('yes');
      expect(res.headers).not.to.have.property('x-upstream-secret');
    });

    it('streams a request body to the backend and back', async () => {
      const body = randomBytes(1024 * 1024).toString('base64');
      const res = await httpRequest(proxy.publicPort, '/echo', {
        method: 'POST',
        body,
        headers: { 'content-type': 'text/plain' },
      });
      expect(res.status).to.equal(200);
      expect(res.body.length).to.equal(body.length);
      expect(res.body === body).to.equal(true);
    });
  });

  describe('trusted proxies', () => {
    const fromLb = {
      host: 'app.example',
      'x-forwarded-for': '203.0.113.7, 10.1.1.1',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'www.example',
      'x-forwarded-port': '443',
    };

    it('keeps and appends to the X-Forwarded-* of a trusted peer', async () => {
      await proxy.close();
      proxy = await startProxy({}, { trustedProxies: ['10.0.0.0/8', '127.0.0.0/8'] });
      await proxy.router.setActive('blue', blue.port);
      const seen = seenHeaders(await httpRequest(proxy.publicPort, '/headers', { headers: fromLb }));
      expect(seen['x-forwarded-for']).to.equal('203.0.113.7, 10.1.1.1, 127.0.0.1');
      expect(seen['x-forwarded-proto']).to.equal('https');
      expect(seen['x-forwarded-host']).to.equal('www.example');
      expect(seen['x-forwarded-port'], 'other fields of a trusted peer pass').to.equal('443');
      const { peer } = await connectWebSocket(proxy.publicPort, '/ws', 2_000, fromLb);
      peer.send('?headers');
      const wsSeen = JSON.parse(await peer.next(2_000)) as Record<string, string>;
      expect(wsSeen['x-forwarded-for']).to.equal('203.0.113.7, 10.1.1.1, 127.0.0.1');
      expect(wsSeen['x-forwarded-proto']).to.equal('https');
      await peer.close(1_000);
    });

    it('sets its own fields for a trusted peer that sent none', async () => {
      await proxy.close();
      proxy = await startProxy({}, { trustedProxies: ['127.0.0.1'] });
      await proxy.router.setActive('blue', blue.port);
      const seen = seenHeaders(await httpRequest(proxy.publicPort, '/headers', { headers: { host: 'app.example' } }));
      expect(seen['x-forwarded-for']).to.equal('127.0.0.1');
      expect(seen['x-forwarded-proto']).to.equal('http');
      expect(seen['x-forwarded-host']).to.equal('app.example');
    });

    it('replaces them when the peer is not in the list', async () => {
      await proxy.close();
      proxy = await startProxy({}, { trustedProxies: ['10.0.0.0/8', '::1'] });
      await proxy.router.setActive('blue', blue.port);
      const seen = seenHeaders(await httpRequest(proxy.publicPort, '/headers', { headers: fromLb }));
      expect(seen['x-forwarded-for']).to.equal('127.0.0.1');
      expect(seen['x-forwarded-proto']).to.equal('http');
      expect(seen['x-forwarded-host']).to.equal('app.example');
      expect(seen).not.to.have.property('x-forwarded-port');
    });
  });

  describe('listeners', () => {
    it('sets server timeouts and closes idle keep-alive sockets and websockets on close', async () => {
      const { publicServer } = proxy;
      expect(publicServer.headersTimeout).to.equal(30_000);
      expect(publicServer.requestTimeout).to.equal(300_000);
      expect(publicServer.keepAliveTimeout).to.equal(65_000);
      await proxy.router.setActive('blue', blue.port);
      const agent = new http.Agent({ keepAlive: true });
      const status = await new Promise<number>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port: proxy.publicPort, path: '/', agent }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          })
          .on('error', reject);
      });
      expect(status).to.equal(200);
      const { peer } = await connectWebSocket(proxy.publicPort, '/ws', 2_000);
      await closeServer(publicServer, 300);
      agent.destroy();
      await peer.waitClosed(2_000);
      expect(publicServer.listening).to.equal(false);
    });
  });
});
