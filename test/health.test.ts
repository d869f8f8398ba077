import { expect } from 'chai';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, type Socket } from 'node:net';
import { probeHealth, type ProbeOptions } from '../units/health.js';
import { freePort } from '../harness/ports.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

interface TestServer {
  port: number;
  close(): Promise<void>;
}

async function serve(handler: Handler): Promise<TestServer> {
  const sockets = new Set<Socket>();
  const server: Server = createServer(handler);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy(); // the never-answering server holds requests open
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const backend =
  (status: number, version: string): Handler =>
  (req, res) => {
    if (req.url === '/ping') res.writeHead(status).end('pong');
    else if (req.url === '/version') res.writeHead(200, { 'content-type': 'text/plain' }).end(`${version}\n`);
    else res.writeHead(404).end();
  };

describe('health probe', () => {
  const servers: TestServer[] = [];
  const start = async (handler: Handler): Promise<number> => {
    const s = await serve(handler);
    servers.push(s);
    return s.port;
  };
  const options = (port: number, extra: Partial<ProbeOptions> = {}): ProbeOptions => ({
    port,
    readyPath: '/ping',
    versionPath: '/version',
    expectedVersion: '26.11.27.0',
    timeoutMs: 500,
    ...extra,
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  it('is Ready when /ping answers 2xx and /version is the expected version (trimmed)', async () => {
    const port = await start(backend(200, '26.11.27.0'));
    expect(await probeHealth(options(port))).to.deep.equal({
      ready: true,
      version: '26.11.27.0',
      reason: 'ready',
      timedOut: false,
    });
  });

  it('is not Ready while the readiness path answers 503, and still reports the version', async () => {
    const port = await start(backend(503, '26.11.27.0'));
    const r = await probeHealth(options(port));
    expect(r).to.include({ ready: false, version: '26.11.27.0' });
    expect(r.reason).to.equal('/ping: answered 503');
  });

  it('is not Ready at the wrong version (a stale process on the port)', async () => {
    const port = await start(backend(200, '26.11.26.0'));
    const r = await probeHealth(options(port));
    expect(r).to.include({ ready: false, version: '26.11.26.0' });
    expect(r.reason).to.match(/version is "26\.11\.26\.0", expected "26\.11\.27\.0"/);
  });

  it('uses the configured paths', async () => {
    const port = await start((req, res) => {
      if (req.url === '/meta/ping') res.end('pong');
      else if (req.url === '/meta/version') res.end('26.11.27.0');
      else res.writeHead(404).end();
    });
    expect((await probeHealth(options(port))).ready).to.equal(false);
    expect(
      (await probeHealth(options(port, { readyPath: '/meta/ping', versionPath: '/meta/version' }))).ready,
    ).to.equal(true);
  });

  it('gives up after timeoutMs on a server that never answers', async () => {
    const port = await start(() => undefined);
    const began = Date.now();
    const r = await probeHealth(options(port, { timeoutMs: 300 }));
    const took = Date.now() - began;
    expect(r).to.deep.equal({ ready: false, version: null, reason: '/ping: timed out after 300ms', timedOut: true });
    expect(took).to.be.within(250, 2_000);
  });

  it('reports connection refused when nothing listens, without throwing', async () => {
    const port = await freePort();
    const r = await probeHealth(options(port));
    expect(r).to.deep.equal({ ready: false, version: null, reason: '/ping: connection refused', timedOut: false });
  });

  it('counts a redirect as not Ready', async () => {
    const port = await start((req, res) => res.writeHead(302, { location: '/elsewhere' }).end());
    expect(await probeHealth(options(port))).to.include({ ready: false, reason: '/ping: answered 302' });
  });
});
