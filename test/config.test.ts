import { expect } from 'chai';
import { parseConfig } from '../config/config.js';
import { ValidationError } from '../common/errors.js';

const minimal = `
app:
  name: demo
  repo: ./backend
root: ./var
`;

describe('config', () => {
  it('fills documented defaults and resolves paths against the config folder', () => {
    const config = parseConfig(minimal, '/etc/openhack');
    expect(config.app.repo).to.equal('/etc/openhack/backend');
    expect(config.root).to.equal('/etc/openhack/var');
    expect(config.app.run.envRoot).to.equal('/etc/openhack/var/env');
    expect(config.colors.blue.port).to.equal(8001);
    expect(config.app.health.intervalMs).to.equal(2000);
    expect(config.app.build.timeoutMs).to.equal(600_000);
    expect(config.units.driver).to.equal('systemd');
    expect(config.app.tagPattern.test('v26.11.27.0')).to.equal(true);
  });

  it('fills the auth defaults: a 15m token, the secret under <root>/auth, lockout after 10 failures', () => {
    const { auth } = parseConfig(minimal, '/etc/openhack');
    expect(auth).to.deep.equal({
      tokenTtlMs: 900_000,
      secretFile: '/etc/openhack/var/auth/jwt-secret',
      issuer: 'openhack-hypervisor',
      audience: 'openhack-hypervisor',
      lockout: { threshold: 10, baseMs: 30_000, maxMs: 3_600_000 },
    });
    const custom = parseConfig(
      `${minimal}auth: { tokenTtl: 5m, secretFile: ./jwt, lockout: { threshold: 3, base: 2s } }\n`,
      '/etc/openhack',
    );
    expect(custom.auth.tokenTtlMs).to.equal(300_000);
    expect(custom.auth.secretFile).to.equal('/etc/openhack/jwt');
    expect(custom.auth.lockout).to.deep.equal({ threshold: 3, baseMs: 2000, maxMs: 3_600_000 });
  });

  it('fills the disk defaults (low under 1 GiB or 5% free) and reads sizes in either unit', () => {
    expect(parseConfig(minimal, '/etc/openhack').disk).to.deep.equal({ minFreeBytes: 1024 ** 3, minFreePercent: 5 });
    const custom = parseConfig(`${minimal}disk: { minFree: 512MiB, minFreePercent: 2.5 }\n`, '/etc/openhack');
    expect(custom.disk).to.deep.equal({ minFreeBytes: 512 * 1024 ** 2, minFreePercent: 2.5 });
    const off = parseConfig(`${minimal}disk: { minFree: 0, minFreePercent: 0 }\n`, '/etc/openhack');
    expect(off.disk).to.deep.equal({ minFreeBytes: 0, minFreePercent: 0 });
  });

  it('fills the proxy defaults and reads sizes, address lists and TLS files', () => {
    const { proxy, listen } = parseConfig(minimal, '/etc/openhack');
    expect(proxy).to.deep.equal({
      drainTimeoutMs: 30_000,
      headerTimeoutMs: 30_000,
      idleTimeoutMs: 65_000,
      connectTimeoutMs: 5_000,
      responseTimeoutMs: 60_000,
      maxBodyBytes: 10 * 1024 * 1024,
      trustedProxies: [],
    });
    expect(listen.tls).to.equal(null);
    const custom = parseConfig(
      `${minimal}proxy:
  { headerTimeout: 5s, idleTimeout: 2m, maxBodySize: 512KB, trustedProxies: [10.0.0.0/8, '::1', 192.168.1.4] }
listen: { tls: { cert: tls/cert.pem, key: /keys/key.pem } }
`,
      '/etc/openhack',
    );
    expect(custom.proxy).to.include({ headerTimeoutMs: 5_000, idleTimeoutMs: 120_000, maxBodyBytes: 512 * 1024 });
    expect(custom.proxy.trustedProxies).to.deep.equal(['10.0.0.0/8', '::1', '192.168.1.4']);
    expect(custom.listen.tls).to.deep.equal({ cert: '/etc/openhack/tls/cert.pem', key: '/keys/key.pem' });
    expect(parseConfig(`${minimal}proxy: { maxBodySize: 1000 }\n`, '/etc').proxy.maxBodyBytes).to.equal(1000);
  });

  const bad: Array<[string, string, RegExp]> = [
    ['unknown top-level key', `${minimal}colour: blue\n`, /colour: unknown key/],
    ['unknown nested key', `${minimal}colors: { blue: { prot: 1 } }\n`, /colors\.blue\.prot: unknown key/],
    ['bad duration', `${minimal}reconcile: { interval: fast }\n`, /reconcile\.interval: .*"fast"/],
    ['bad port', `${minimal}colors: { green: { port: 70000 } }\n`, /colors\.green\.port: .*70000/],
    ['same port twice', `${minimal}colors: { green: { port: 8001 } }\n`, /colors\.green\.port: port 8001/],
    ['bad driver', `${minimal}units: { driver: docker }\n`, /units\.driver: .*"docker"/],
    [
      'unanchored tag pattern',
      minimal.replace('repo: ./backend', "repo: ./backend\n  tagPattern: 'v\\d+'"),
      /app\.tagPattern: must be anchored/,
    ],
    ['a store path that is not a string', `${minimal}store: { kind: embedded, path: 1 }\n`, /store\.path: .*1/],
    ['bad listen address', `${minimal}listen: { public: 'localhost' }\n`, /listen\.public: .*"localhost"/],
    [
      'a token that lives a day',
      `${minimal}auth: { tokenTtl: 24h }\n`,
      /auth\.tokenTtl: must be from 1m to 1h, got "24h"/,
    ],
    ['an unknown auth key', `${minimal}auth: { tokenTTL: 5m }\n`, /auth\.tokenTTL: unknown key/],
    [
      'an unknown lockout key',
      `${minimal}auth: { lockout: { treshold: 3 } }\n`,
      /auth\.lockout\.treshold: unknown key/,
    ],
    ['a lockout threshold of 0', `${minimal}auth: { lockout: { threshold: 0 } }\n`, /auth\.lockout\.threshold: .*0/],
    [
      'a proxy timeout of 0',
      `${minimal}proxy: { connectTimeout: 0s }\n`,
      /proxy\.connectTimeout: must be longer than 0, got "0s"/,
    ],
    ['a body size without a number', `${minimal}proxy: { maxBodySize: large }\n`, /proxy\.maxBodySize: .*"large"/],
    ['a negative body size', `${minimal}proxy: { maxBodySize: -1 }\n`, /proxy\.maxBodySize: .*-1/],
    [
      'a trusted proxy that is not an address',
      `${minimal}proxy: { trustedProxies: [10.0.0.0/8, lb.example] }\n`,
      /proxy\.trustedProxies\[1\]: .*"lb\.example"/,
    ],
    [
      'a CIDR prefix too long',
      `${minimal}proxy: { trustedProxies: [10.0.0.0/33] }\n`,
      /proxy\.trustedProxies\[0\]: .*"10\.0\.0\.0\/33"/,
    ],
    [
      'trusted proxies that are not a list',
      `${minimal}proxy: { trustedProxies: 10.0.0.1 }\n`,
      /proxy\.trustedProxies: must be a list/,
    ],
    ['an unknown proxy key', `${minimal}proxy: { maxBody: 1mb }\n`, /proxy\.maxBody: unknown key/],
    [
      'TLS without a key',
      `${minimal}listen: { tls: { cert: /c.pem } }\n`,
      /listen\.tls\.key: must be a non-empty string/,
    ],
    ['YAML syntax error', `${minimal}app: [\n`, /not valid YAML/],
    ['a disk bound that is no size', `${minimal}disk: { minFree: lots }\n`, /disk\.minFree: must be a size .*"lots"/],
    ['a share over 100', `${minimal}disk: { minFreePercent: 150 }\n`, /disk\.minFreePercent: .*0 to 100, got 150/],
    ['a share that is text', `${minimal}disk: { minFreePercent: 5% }\n`, /disk\.minFreePercent: .*"5%"/],
    ['an unknown disk key', `${minimal}disk: { minFreeBytes: 1 }\n`, /disk\.minFreeBytes: unknown key/],
  ];
  for (const [name, text, message] of bad) {
    it(`refuses ${name}, naming the key and value`, () => {
      expect(() => parseConfig(text, '/etc')).to.throw(ValidationError, message);
    });
  }
});

describe('config/hypervisor.example.yaml', () => {
  it('is a valid config', async () => {
    const { loadConfig } = await import('../config/config.js');
    const config = loadConfig(new URL('../../config/hypervisor.example.yaml', import.meta.url).pathname);
    expect(config.app.name).to.equal('openhack-backend');
    expect(config.listen.public).to.deep.equal({ host: '0.0.0.0', port: 8080 });
    expect(config.archive?.s3).to.deep.include({ bucket: 'hv-logs', prefix: 'openhack', forcePathStyle: true });
  });
});
