// HTTPS on the public listener with a self-signed certificate made by openssl at test time, and
// its reload: new handshakes get a replaced pair, open connections keep going, and a half-written
// pair (certificate without its key) is refused while the old one keeps serving.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { createProxyServer } from '../proxy/server.js';
import { TlsCertificateError } from '../proxy/tls.js';
import { startBackend, type Backend } from './harness/http-backends.js';
import { startProxy, type ProxyFixture } from './proxy-fixture.js';
import { waitForCondition } from './harness/wait.js';

const run = promisify(execFile);

interface Pair {
  cert: string;
  key: string;
}

/** A fresh self-signed P-256 certificate for 127.0.0.1 with `name` as its common name. */
async function makePair(dir: string, name: string): Promise<Pair> {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  await run(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { timeout: 10_000 },
  );
  return { cert: await readFile(cert, 'utf8'), key: await readFile(key, 'utf8') };
}

/** Replaces a file the way deploy tools do: write aside, then rename over the old one. */
async function replace(file: string, content: string): Promise<void> {
  await writeFile(`${file}.tmp`, content);
  await rename(`${file}.tmp`, file);
}

interface Answer {
  status: number;
  body: string;
  commonName: string;
  reused: boolean;
}

function get(port: number, ca: string[], agent: https.Agent | false, path = '/headers'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path, ca, agent, timeout: 5_000 }, (res) => {
      // Read now: a keep-alive agent takes the socket back once the body has ended.
      const commonName = String((res.socket as TLSSocket).getPeerCertificate().subject.CN);
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, commonName, reused: req.reusedSocket }));
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 5s')));
    req.on('error', reject);
  });
}

describe('proxy TLS', function () {
  this.timeout(30_000);
  let dir: string;
  let a: Pair;
  let b: Pair;
  let c: Pair;
  let blue: Backend;
  let proxy: ProxyFixture;
  const reloads: Array<TlsCertificateError | null> = [];
  const certFile = (): string => path.join(dir, 'live', 'cert.pem');
  const keyFile = (): string => path.join(dir, 'live', 'key.pem');

  before(async () => {
    await run('openssl', ['version'], { timeout: 5_000 }).catch(() => {
      throw new Error('these tests need openssl to make certificates: apt-get install -y openssl');
    });
    dir = await mkdtemp(path.join(tmpdir(), 'proxy-tls-'));
    [a, b, c] = await Promise.all([makePair(dir, 'cert-a'), makePair(dir, 'cert-b'), makePair(dir, 'cert-c')]);
    blue = await startBackend('blue');
  });

  after(async () => {
    await blue.close();
    await rm(dir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    reloads.length = 0;
    await rm(path.join(dir, 'live'), { recursive: true, force: true });
    await mkdir(path.join(dir, 'live'));
    await writeFile(certFile(), a.cert);
    await writeFile(keyFile(), a.key);
    proxy = await startProxy(
      {},
      { tls: { certFile: certFile(), keyFile: keyFile(), onReload: (err) => reloads.push(err) } },
    );
    await proxy.router.setActive('blue', blue.port);
  });

  afterEach(() => proxy.close());

  it('terminates HTTPS with the configured certificate and tells the backend the scheme', async () => {
    const answer = await get(proxy.publicPort, [a.cert], false);
    expect(answer.status).to.equal(200);
    expect(answer.commonName).to.equal('cert-a');
    const seen = (JSON.parse(answer.body) as { headers: Record<string, string> }).headers;
    expect(seen['x-forwarded-proto']).to.equal('https');
  });

  it('reloads a replaced certificate for new connections without dropping open ones', async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await get(proxy.publicPort, [a.cert, b.cert], agent);
      expect(first.commonName).to.equal('cert-a');

      await replace(keyFile(), b.key);
      await replace(certFile(), b.cert);
      await waitForCondition('a successful reload', () => reloads.includes(null), 5_000);
      const fresh = await get(proxy.publicPort, [a.cert, b.cert], false);
      expect(fresh.commonName).to.equal('cert-b');

      const again = await get(proxy.publicPort, [a.cert, b.cert], agent);
      expect(again.status).to.equal(200);
      expect(again.reused, 'the keep-alive connection survived the reload').to.equal(true);
      expect(again.commonName).to.equal('cert-a');
    } finally {
      agent.destroy();
    }
  });

  it('keeps the old pair when the new certificate does not match the key, until it does', async () => {
    await replace(certFile(), c.cert);
    await waitForCondition('a reload', () => reloads.length > 0, 5_000);
    expect(reloads[0]).to.be.an('error');
    expect(reloads[0]?.message).to.include(certFile());
    expect((await get(proxy.publicPort, [a.cert], false)).commonName).to.equal('cert-a');

    await replace(keyFile(), c.key);
    await waitForCondition('a successful reload', () => reloads.includes(null), 5_000);
    expect((await get(proxy.publicPort, [c.cert], false)).commonName).to.equal('cert-c');
  });

  it('refuses to start with a certificate it cannot read, naming the file', async () => {
    const missing = path.join(dir, 'nope.pem');
    expect(() =>
      createProxyServer({ router: proxy.router, which: 'public', tls: { certFile: missing, keyFile: keyFile() } }),
    ).to.throw(TlsCertificateError, /nope\.pem/);
  });
});
