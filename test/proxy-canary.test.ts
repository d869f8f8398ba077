// A canary split on the public listener, with real backend processes: each client keeps its color
// (a cookie holds its bucket), the share among 200 new clients is the canary's weight to within a
// few clients, the cookie never reaches a backend, and outside a canary it chooses nothing.
import { expect } from 'chai';
import { Pool } from 'undici';
import type { Color } from '../common/types.js';
import { BUCKETS, CANARY_COOKIE, inCanary, StickyBuckets, withoutCanaryCookie } from '../proxy/sticky.js';
import { startProxy, type ProxyFixture } from './proxy-fixture.js';
import { startBackendProcess, type BackendProcess } from './harness/http-backends.js';

const CLIENTS = 200;
const REQUESTS_PER_CLIENT = 10;
/** Requests in flight at once, over all clients: bounded load on a shared machine. */
const CONNECTIONS = 32;

interface Answer {
  color: Color;
  setCookie: string[];
  body: string;
}

/** One client: its own cookie jar (our cookie only), sending GETs one after the other. */
class Client {
  cookie: string | null = null;
  readonly colors: Color[] = [];
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  async get(path = '/'): Promise<Answer> {
    const res = await this.#pool.request({
      method: 'GET',
      path,
      headers: this.cookie === null ? {} : { cookie: this.cookie },
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    const body = await res.body.text();
    expect(res.statusCode, body).to.equal(200);
    const raw = res.headers['set-cookie'];
    const setCookie = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
    const ours = setCookie.find((c) => c.startsWith(`${CANARY_COOKIE}=`));
    if (ours) this.cookie = ours.split(';', 1)[0]!;
    const color = res.headers['x-backend-color'] as Color;
    this.colors.push(color);
    return { color, setCookie, body };
  }
}

describe('proxy canary split (real backend processes, loopback)', function () {
  this.timeout(60_000);
  let blue: BackendProcess;
  let green: BackendProcess;
  let proxy: ProxyFixture;
  let pool: Pool;

  before(async () => {
    [blue, green] = await Promise.all([startBackendProcess('blue'), startBackendProcess('green')]);
  });
  after(async () => {
    await Promise.all([blue?.close(), green?.close()]);
  });
  beforeEach(async () => {
    proxy = await startProxy();
    await proxy.router.route({ color: 'blue', port: blue.port }, { color: 'green', port: green.port });
    pool = new Pool(`http://127.0.0.1:${proxy.publicPort}`, { connections: CONNECTIONS });
  });
  afterEach(async () => {
    await pool.close();
    await proxy.close();
  });

  it('at 10%: 2,000 requests from 200 clients, canary share 10% ± 3 points, each client on one color', async () => {
    await proxy.router.setCanary({ color: 'green', port: green.port, weight: 10 });
    const clients = Array.from({ length: CLIENTS }, () => new Client(pool));
    await Promise.all(
      clients.map(async (client) => {
        for (let i = 0; i < REQUESTS_PER_CLIENT; i++) await client.get();
      }),
    );
    const all = clients.flatMap((c) => c.colors);
    expect(all).to.have.length(CLIENTS * REQUESTS_PER_CLIENT);
    const share = (100 * all.filter((c) => c === 'green').length) / all.length;
    expect(share, `green share ${share.toFixed(1)}%`).to.be.within(7, 13);
    const flipped = clients.filter((c) => new Set(c.colors).size !== 1);
    expect(flipped, 'clients that saw both colors').to.have.length(0);
    expect(
      clients.every((c) => c.cookie !== null),
      'every client got the cookie',
    ).to.equal(true);
    console.log(`      green share ${share.toFixed(1)}% of ${all.length} requests from ${CLIENTS} clients`);
  });

  it('keeps a canary client on the canary as the share grows; when it ends all go to the active color', async () => {
    await proxy.router.setCanary({ color: 'green', port: green.port, weight: 10 });
    const clients = Array.from({ length: 100 }, () => new Client(pool));
    for (const client of clients) await client.get();
    const first = clients.map((c) => c.colors[0]);
    await proxy.router.setCanary({ color: 'green', port: green.port, weight: 50 });
    for (const client of clients) await client.get();
    clients.forEach((c, i) => {
      if (first[i] === 'green') expect(c.colors[1], 'a canary client at 50%').to.equal('green');
    });
    const atHalf = clients.filter((c) => c.colors[1] === 'green').length;
    expect(atHalf).to.be.within(45, 55);
    await proxy.router.setCanary(null);
    for (const client of clients) await client.get();
    expect(new Set(clients.map((c) => c.colors[2]))).to.deep.equal(new Set(['blue']));
  });

  it('never shows the cookie to the backend, and keeps the backend cookies next to it', async () => {
    await proxy.router.setCanary({ color: 'green', port: green.port, weight: 50 });
    const client = new Client(pool);
    const first = await client.get('/session');
    expect(first.setCookie.filter((c) => !c.startsWith(CANARY_COOKIE))).to.deep.equal([
      'session=s1; Path=/',
      'theme=dark; Path=/',
    ]);
    expect(first.setCookie.find((c) => c.startsWith(CANARY_COOKIE))).to.match(
      /^hypervisor_canary=\d{1,4}; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax$/,
    );
    client.cookie = `a=1; ${client.cookie!}; b=2`;
    const seen = JSON.parse((await client.get('/headers')).body) as { headers: Record<string, string> };
    expect(seen.headers.cookie).to.equal('a=1; b=2');
    client.cookie = client.cookie.replace(/a=1; |; b=2/g, '');
    const alone = JSON.parse((await client.get('/headers')).body) as { headers: Record<string, string> };
    expect(alone.headers).not.to.have.property('cookie');
  });

  it('outside a canary: the cookie chooses nothing and none is given', async () => {
    const client = new Client(pool);
    client.cookie = `${CANARY_COOKIE}=0`;
    for (let i = 0; i < 5; i++) {
      const answer = await client.get();
      expect(answer.color).to.equal('blue');
      expect(answer.setCookie).to.deep.equal([]);
    }
  });

  it('a forged or broken cookie value gets a new bucket, never an error', async () => {
    await proxy.router.setCanary({ color: 'green', port: green.port, weight: 10 });
    for (const bad of ['x', '-1', '99999', '1e3', '']) {
      const client = new Client(pool);
      client.cookie = `${CANARY_COOKIE}=${bad}`;
      const answer = await client.get();
      expect(
        answer.setCookie.some((c) => c.startsWith(`${CANARY_COOKIE}=`)),
        bad,
      ).to.equal(true);
    }
  });
});

describe('sticky buckets', () => {
  it('spreads new clients so that any 200 of them are within a client or two of the weight', () => {
    for (const start of [0, 1, 4_321, 9_999]) {
      const buckets = new StickyBuckets(start);
      const taken = Array.from({ length: 1_000 }, () => buckets.client(undefined, false).bucket);
      for (let from = 0; from + CLIENTS <= taken.length; from += 100) {
        for (const weight of [1, 10, 50, 90]) {
          const n = taken.slice(from, from + CLIENTS).filter((b) => inCanary(b, weight)).length;
          expect(Math.abs(n - (CLIENTS * weight) / 100), `start ${start}, weight ${weight}`).to.be.at.most(3);
        }
      }
      expect(taken.every((b) => Number.isInteger(b) && b >= 0 && b < BUCKETS)).to.equal(true);
    }
  });

  it('reads a bucket back from the Cookie header, and marks the cookie secure on TLS', () => {
    const buckets = new StickyBuckets(0);
    expect(buckets.client(`a=1; ${CANARY_COOKIE}=42; b=2`, false)).to.deep.equal({ bucket: 42, setCookie: null });
    expect(buckets.client(['a=1', `${CANARY_COOKIE}=7`], false).bucket).to.equal(7);
    expect(buckets.client(undefined, true).setCookie).to.match(/; Secure$/);
  });

  it('takes only its own cookie off a Cookie header', () => {
    expect(withoutCanaryCookie('a=1; b=2')).to.equal('a=1; b=2');
    expect(withoutCanaryCookie(`${CANARY_COOKIE}=3`)).to.equal(null);
    expect(withoutCanaryCookie(`a=1;${CANARY_COOKIE}=3 ;b=2`)).to.equal('a=1; b=2');
    expect(withoutCanaryCookie(`${CANARY_COOKIE}x=3; a=1`)).to.equal(`${CANARY_COOKIE}x=3; a=1`);
  });
});
