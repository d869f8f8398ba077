// The dashboard's session: the same hyperusers and sessions as hyper-cli, the token in an HttpOnly,
// SameSite=Strict cookie, and a CSRF token on every request that changes something. Real daemon,
// real sockets; what a refused request would have changed is read back.
import { expect } from 'chai';
import { startTestDaemon, type Answer, type TestDaemon } from './api-harness.js';

interface CookieLogin {
  tokenType: string;
  csrfToken: string;
  username: string;
  roles: string[];
  token?: string;
}

/** The `name=value` part of the answer's Set-Cookie, and its attributes. */
function setCookie(answer: Answer): { pair: string; attributes: string[] } {
  const header = answer.headers['set-cookie'];
  expect(header, 'a Set-Cookie header').to.be.an('array').with.length(1);
  const [pair, ...attributes] = header![0]!.split(';').map((part) => part.trim());
  return { pair: pair!, attributes };
}

describe('api: the dashboard logs in with a session cookie and acts with its CSRF token', function () {
  this.timeout(60_000);
  let hv: TestDaemon;
  before(async () => {
    hv = await startTestDaemon();
    await hv.addUser('olga', 'operator');
    await hv.addUser('vera', 'viewer');
  });
  after(async () => {
    await hv?.close();
  });

  async function cookieLogin(username: string): Promise<{ cookie: string; csrf: string; answer: Answer<CookieLogin> }> {
    const answer = await hv.call<CookieLogin>('POST', '/auth/login', {
      body: { username, password: 'correct horse battery staple', cookie: true },
    });
    expect(answer.status, answer.text).to.equal(200);
    return { cookie: setCookie(answer).pair, csrf: answer.json.csrfToken, answer };
  }

  const paused = async (): Promise<boolean> =>
    (await hv.admin<{ revision: { doc: { paused: boolean } } | null }>('GET', '/status')).json.revision?.doc.paused ??
    false;

  it('puts the token in an HttpOnly, SameSite=Strict cookie scoped to /hypervisor, never in the answer', async () => {
    const { answer } = await cookieLogin('olga');
    const { pair, attributes } = setCookie(answer);
    expect(pair).to.match(/^hv_session=[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(attributes).to.include.members(['Path=/hypervisor', 'HttpOnly', 'SameSite=Strict']);
    expect(attributes.find((a) => a.startsWith('Max-Age='))).to.match(/^Max-Age=[1-9]\d*$/);
    expect(answer.json).to.include({ tokenType: 'Cookie', username: 'olga' });
    expect(answer.json).not.to.have.property('token');
    expect(answer.json.csrfToken).to.match(/^[\w-]{43}$/);
    expect(answer.headers['cache-control']).to.equal('no-store');
  });

  it('reads with the cookie alone, and /auth/me gives the session its CSRF token again', async () => {
    const { cookie, csrf } = await cookieLogin('vera');
    const me = await hv.call<{ via: string; csrfToken: string }>('GET', '/auth/me', { headers: { cookie } });
    expect(me.status, me.text).to.equal(200);
    expect(me.json).to.include({ via: 'cookie', csrfToken: csrf });
    expect((await hv.call('GET', '/status', { headers: { cookie } })).status).to.equal(200);
  });

  it('refuses an action with the cookie but without its CSRF token (403), and changes nothing', async () => {
    const { cookie } = await cookieLogin('olga');
    const refused = await hv.call<{ error: { code: string } }>('POST', '/pause', { headers: { cookie } });
    expect(refused.status, refused.text).to.equal(403);
    expect(refused.json.error.code).to.equal('csrf_failed');
    expect(await paused()).to.equal(false);
  });

  it("refuses another session's CSRF token", async () => {
    const first = await cookieLogin('olga');
    const second = await cookieLogin('olga');
    expect(first.csrf).not.to.equal(second.csrf);
    const refused = await hv.call('POST', '/pause', { headers: { cookie: first.cookie, 'x-csrf-token': second.csrf } });
    expect(refused.status, refused.text).to.equal(403);
    expect(await paused()).to.equal(false);
  });

  it('acts with the cookie and its CSRF token, as the user, within the role', async () => {
    const { cookie, csrf } = await cookieLogin('olga');
    const done = await hv.call('POST', '/pause', { headers: { cookie, 'x-csrf-token': csrf } });
    expect(done.status, done.text).to.equal(201);
    expect(await paused()).to.equal(true);
    const resumed = await hv.call('POST', '/resume', { headers: { cookie, 'x-csrf-token': csrf } });
    expect(resumed.status, resumed.text).to.equal(201);
    const viewer = await cookieLogin('vera');
    const forbidden = await hv.call('POST', '/pause', {
      headers: { cookie: viewer.cookie, 'x-csrf-token': viewer.csrf },
    });
    expect(forbidden.status, forbidden.text).to.equal(403);
    expect(await paused()).to.equal(false);
  });

  it('ends the session on logout: the cookie is cleared and no longer lets anyone in', async () => {
    const { cookie, csrf } = await cookieLogin('vera');
    const out = await hv.call('POST', '/auth/logout', { headers: { cookie, 'x-csrf-token': csrf } });
    expect(out.status, out.text).to.equal(204);
    const cleared = setCookie(out);
    expect(cleared.pair).to.equal('hv_session=');
    expect(cleared.attributes).to.include('Max-Age=0');
    const after = await hv.call('GET', '/auth/me', { headers: { cookie } });
    expect(after.status).to.equal(401);
    expect(setCookie(after).pair, 'a refused cookie is cleared too').to.equal('hv_session=');
  });

  it('lets hyper-cli go on with Bearer tokens and no CSRF token', async () => {
    const token = await hv.login('olga');
    expect((await hv.call('POST', '/pause', { token })).status).to.equal(201);
    expect((await hv.call('POST', '/resume', { token })).status).to.equal(201);
  });
});
