// Limits on what clients may do: a head sent too slowly is cut off (408), an idle keep-alive
// connection is closed, and a body over the limit is refused (413) before it reaches a backend.
import { expect } from 'chai';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { httpRequest, startBackend, type Backend } from './harness/http-backends.js';
import { errorOf, startProxy, type ProxyFixture } from './proxy-fixture.js';

/** Collects everything a raw connection receives until it closes, or until the deadline destroys it. */
function collect(socket: net.Socket, timeoutMs: number): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    let text = '';
    // A deadline, not a wait: past it the proxy has failed to close the connection, and the test says so.
    const timer = setTimeout(() => {
      resolve({ text, closed: false });
      socket.destroy();
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.once('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
  });
}

describe('proxy limits', function () {
  this.timeout(20_000);
  let blue: Backend;
  let proxy: ProxyFixture;

  before(async () => {
    blue = await startBackend('blue');
  });

  after(() => blue.close());

  afterEach(() => proxy.close());

  async function start(settings: Parameters<typeof startProxy>[1]): Promise<void> {
    proxy = await startProxy({}, settings);
    await proxy.router.setActive('blue', blue.port);
  }

  it('cuts off a client that sends its request head too slowly (408)', async () => {
    await start({ timeouts: { headersTimeoutMs: 300 } });
    const before = blue.served;
    const socket = net.connect(proxy.publicPort, '127.0.0.1');
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    const received = collect(socket, 10_000);
    socket.write('GET / HTTP/1.1\r\nHost: slow.test\r\n');
    // One header line every 100ms for up to 10s: a slow-loris that never finishes its head (the pace
    // of the attack under test, not a wait).
    let lines = 0;
    const trickle = setInterval(() => {
      if (socket.destroyed || lines >= 100) return void clearInterval(trickle);
      lines += 1;
      socket.write(`X-Slow-${lines}: a\r\n`);
    }, 100);
    const { text, closed } = await received;
    clearInterval(trickle);
    expect(closed, 'the proxy closed the connection').to.equal(true);
    expect(text).to.match(/^HTTP\/1\.1 408/);
    expect(lines, 'header lines sent before the cut').to.be.lessThan(100);
    expect(blue.served, 'nothing reached the backend').to.equal(before);
  });

  it('closes a keep-alive connection left idle past the idle timeout', async () => {
    await start({ timeouts: { keepAliveTimeoutMs: 300 } });
    const socket = net.connect(proxy.publicPort, '127.0.0.1');
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    const received = collect(socket, 5_000);
    // HTTP/1.1 keeps the connection open after this answer; only the idle timeout ends it.
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const { text, closed } = await received;
    expect(text).to.match(/^HTTP\/1\.1 200/);
    expect(text).to.match(/connection: keep-alive/i);
    expect(closed, 'the idle connection was closed by the proxy').to.equal(true);
  });

  describe('body size', () => {
    beforeEach(() => start({ maxBodyBytes: 1024 }));

    it('refuses a body declared over the limit with 413, without asking the backend', async () => {
      const before = blue.served;
      const res = await httpRequest(proxy.publicPort, '/sink', { method: 'POST', body: Buffer.alloc(2048, 1) }).catch(
        (err: Error) => err,
      );
      // Node may reset the connection while the client is still sending: either way nothing reached the backend.
      if (!(res instanceof Error)) {
        expect(res.status).to.equal(413);
        expect(errorOf(res).code).to.equal('payload_too_large');
        expect(res.headers.connection).to.equal('close');
      }
      expect(blue.served).to.equal(before);
    });

    it('refuses a chunked body once it grows over the limit (413)', async () => {
      const socket = net.connect(proxy.publicPort, '127.0.0.1');
      socket.on('error', () => undefined);
      await once(socket, 'connect');
      const received = collect(socket, 5_000);
      socket.write('POST /sink HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n');
      for (let i = 0; i < 4; i += 1) socket.write(`200\r\n${'a'.repeat(512)}\r\n`);
      const { text } = await received;
      expect(text).to.match(/^HTTP\/1\.1 413/);
      expect(text).to.include('payload_too_large');
    });

    it('answers Expect: 100-continue over the limit with 413 instead of 100', async () => {
      const socket = net.connect(proxy.publicPort, '127.0.0.1');
      socket.on('error', () => undefined);
      await once(socket, 'connect');
      const received = collect(socket, 5_000);
      socket.write('PUT /sink HTTP/1.1\r\nHost: x\r\nContent-Length: 4096\r\nExpect: 100-continue\r\n\r\n');
      const { text } = await received;
      expect(text).to.match(/^HTTP\/1\.1 413/);
      expect(text).not.to.include('100 Continue');
    });

    it('passes a body at the limit, declared or chunked', async () => {
      const declared = await httpRequest(proxy.publicPort, '/sink', { method: 'POST', body: Buffer.alloc(1024, 1) });
      expect(JSON.parse(declared.body)).to.deep.equal({ color: 'blue', bytes: 1024 });
      const chunked = await new Promise<string>((resolve, reject) => {
        const req = http.request(
          { host: '127.0.0.1', port: proxy.publicPort, path: '/sink', method: 'POST', agent: false },
          (res) => {
            let body = '';
            res.on('data', (c: Buffer) => (body += c.toString()));
            res.on('end', () => resolve(body));
          },
        );
        req.on('error', reject);
        req.write(Buffer.alloc(600, 1));
        req.end(Buffer.alloc(424, 1));
      });
      expect(JSON.parse(chunked)).to.deep.equal({ color: 'blue', bytes: 1024 });
    });
  });
});
