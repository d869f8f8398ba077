// Websockets through the proxy: relayed both ways, kept on their color across a switch, closed with
// 1012 (service restart) once the old color's drain deadline passes, refused cleanly when no
// backend takes them, and never a crash when http-proxy's known bad paths are hit.
import { expect } from 'chai';
import { once } from 'node:events';
import net from 'node:net';
import { closeFrame, FrameBoundaries } from '../proxy/ws-frames.js';
import { httpRequest, refusedPort, startBackend, waitForEvent, type Backend } from './harness/http-backends.js';
import { connectWebSocket, encodeFrame, FrameDecoder, HandshakeRefusedError } from './harness/ws.js';
import { colorOf, startProxy, UUID, type ProxyFixture } from './proxy-fixture.js';
import { waitForCondition } from './harness/wait.js';

describe('proxy websockets', function () {
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
    proxy = await startProxy({ drainTimeoutMs: 400 });
  });

  afterEach(() => proxy.close());

  it('echoes through the proxy with the forwarded fields set', async () => {
    await proxy.router.setActive('blue', blue.port);
    const { peer } = await connectWebSocket(proxy.publicPort, '/ws', 2_000);
    peer.send('hello');
    expect(await peer.next(2_000)).to.equal('blue:hello');
    peer.send('?headers');
    const headers = JSON.parse(await peer.next(2_000)) as Record<string, string>;
    expect(headers['x-forwarded-for']).to.equal('127.0.0.1');
    expect(headers['x-forwarded-proto']).to.equal('ws');
    expect(headers['x-request-id']).to.match(UUID);
    expect(headers.upgrade).to.equal('websocket');
    await peer.close(1_000);
  });

  it('keeps a websocket on its color through a switch, then closes it with 1012 after the drain timeout', async () => {
    await proxy.router.setActive('blue', blue.port);
    const { peer } = await connectWebSocket(proxy.publicPort, '/ws', 2_000);
    peer.send('before');
    expect(await peer.next(2_000)).to.equal('blue:before');
    const backendClosed = waitForEvent<number | null>(blue.events, 'ws-close', () => true, 5_000);

    const drained = proxy.router.setActive('green', green.port);
    peer.send('during');
    expect(await peer.next(2_000)).to.equal('blue:during');
    const second = await connectWebSocket(proxy.publicPort, '/ws', 2_000);
    second.peer.send('new');
    expect(await second.peer.next(2_000)).to.equal('green:new');

    await peer.waitClosed(5_000);
    expect(peer.closeFrame?.code).to.equal(1012);
    expect(peer.closeFrame?.reason).to.match(/blue/);
    expect(await backendClosed).to.equal(1001);
    expect(await drained).to.include({ color: 'blue', idle: false, closedWebSockets: 1, inFlight: 0 });
    expect(proxy.router.snapshot().draining).to.deep.equal([]);

    second.peer.send('still');
    expect(await second.peer.next(2_000)).to.equal('green:still');
    await second.peer.close(1_000);
  });

  it('refuses an upgrade with 503 when no color is routed and 502 when the backend is down', async () => {
    const none = await connectWebSocket(proxy.publicPort, '/ws', 2_000).catch((err: Error) => err);
    expect(none).to.be.instanceOf(HandshakeRefusedError);
    expect((none as HandshakeRefusedError).status).to.equal(503);
    await proxy.router.setActive('blue', await refusedPort());
    const down = await connectWebSocket(proxy.publicPort, '/ws', 2_000).catch((err: Error) => err);
    expect((down as HandshakeRefusedError).status).to.equal(502);
    expect(JSON.parse((down as HandshakeRefusedError).body)).to.have.nested.property('error.code', 'bad_gateway');
  });

  it('survives a client reset after a non-101 answer', async () => {
    await proxy.router.setActive('blue', blue.port);
    for (let i = 0; i < 5; i += 1) {
      const socket = net.connect(proxy.publicPort, '127.0.0.1');
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
    expect(colorOf(await httpRequest(proxy.publicPort, '/'))).to.equal('blue');
    await waitForCondition(
      'the websocket to leave the in-flight count',
      () => proxy.router.active?.inFlight === 0,
      2_000,
    );
  });
});

describe('websocket frame boundaries', () => {
  const frames = [
    encodeFrame(0x1, Buffer.alloc(0), true),
    encodeFrame(0x2, Buffer.alloc(125, 1), false),
    encodeFrame(0x2, Buffer.alloc(126, 2), true),
    encodeFrame(0x2, Buffer.alloc(70_000, 3), false),
    encodeFrame(0x9, Buffer.from('ping'), true),
  ];
  const stream = Buffer.concat(frames);
  const ends = frames.reduce<number[]>((acc, f) => [...acc, (acc.at(-1) ?? 0) + f.length], []);

  for (const chunkSize of [1, 3, 7, 125, 4096, stream.length]) {
    it(`finds every frame end when the bytes come in chunks of ${chunkSize}`, () => {
      const tracker = new FrameBoundaries();
      const found: number[] = [];
      let offset = 0;
      while (offset < stream.length) {
        const chunk = stream.subarray(offset, Math.min(offset + chunkSize, stream.length));
        let used = 0;
        while (used < chunk.length) {
          // Step over one byte, then run to the next boundary, as a closing relay does.
          used += tracker.consume(chunk.subarray(used, used + 1));
          used += tracker.consume(chunk.subarray(used), true);
          if (tracker.atBoundary) found.push(offset + used);
        }
        offset += chunk.length;
      }
      expect(found).to.deep.equal(ends);
    });
  }

  it('encodes close frames a peer can read, masked or not, with the reason cut to fit', () => {
    for (const masked of [false, true]) {
      const [frame] = new FrameDecoder().push(closeFrame(1012, 'é'.repeat(100), masked));
      expect(frame?.opcode).to.equal(0x8);
      expect(frame?.payload.readUInt16BE(0)).to.equal(1012);
      expect(frame?.payload.length).to.be.at.most(125);
      expect(frame?.payload.subarray(2).toString('utf8')).to.equal('é'.repeat(61));
    }
  });
});
