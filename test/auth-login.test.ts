// Hyperuser login against a real daemon: passwords, the same answer for unknown users and wrong
// passwords, lockout, logout, and sessions that end with their user.
import { expect } from 'chai';
import { readFile, stat } from 'node:fs/promises';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { PASSWORD, startTestDaemon, type Answer, type TestDaemon } from './api-harness.js';
import { waitUntil } from './harness/wait.js';

type ErrorBody = { error: { code: string; message: string } };
type EventsBody = {
  events: Array<{ reason: string; actor: string; message: string; data: Record<string, unknown> | null }>;
};

describe('auth: login, lockout and sessions (real daemon)', function () {
  this.timeout(60_000);
  let hv: TestDaemon;

  before(async () => {
    hv = await startTestDaemon({
      extraConfig: 'auth: { tokenTtl: 10m, lockout: { threshold: 10, base: 1s, max: 8s } }',
    });
    await hv.addUser('alice', 'operator');
    await hv.addUser('victor', 'viewer');
  });
  after(async () => {
    await hv?.close();
  });

  const login = (username: unknown, password: unknown): Promise<Answer<ErrorBody & { token: string }>> =>
    hv.call('POST', '/auth/login', { body: { username, password } });
  const events = async (): Promise<EventsBody['events']> =>
    (await hv.admin<EventsBody>('GET', '/events?limit=1000')).json.events;

  it('logs a hyperuser in with a 10-minute HS256 token bound to a session; /auth/me names user and roles', async () => {
    const answer = await login('alice', PASSWORD);
    expect(answer.status).to.equal(200);
    expect(answer.headers['cache-control']).to.equal('no-store');
    expect(decodeProtectedHeader(answer.json.token)).to.deep.equal({ alg: 'HS256', typ: 'JWT' });
    const claims = decodeJwt(answer.json.token);
    expect(claims).to.include({ sub: 'alice', iss: 'openhack-hypervisor', aud: 'openhack-hypervisor' });
    expect(claims.exp! - claims.iat!).to.equal(600);
    expect(claims.jti).to.be.a('string');
    const me = await hv.call('GET', '/auth/me', { token: answer.json.token });
    expect(me.status).to.equal(200);
    expect(me.json).to.include({ username: 'alice', via: 'token' });
    expect((me.json as { roles: string[] }).roles).to.deep.equal(['operator']);
    expect((await events()).some((e) => e.reason === 'LoggedIn' && e.actor === 'alice')).to.equal(true);
  });

  it('keeps the signing secret in a 0600 file of at least 256 bits that no log line or answer shows', async () => {
    const info = await stat(hv.secretFile);
    expect(info.mode & 0o777).to.equal(0o600);
    const secret = (await readFile(hv.secretFile, 'utf8')).trim();
    expect(Buffer.from(secret, 'base64url').length).to.be.at.least(32);
    const token = await hv.login('alice');
    const seen = [
      hv.logs.join('\n'),
      token,
      (await hv.admin('GET', '/status')).text,
      JSON.stringify(await events()),
    ].join('\n');
    expect(seen).to.not.contain(secret);
  });

  it('accepts any Unicode password (NUL, emoji, combining marks) and matches its NFC form', async () => {
    const password = 'n\u0000ul 🦄🔑 cafe\u0301 密码';
    const created = await hv.admin('POST', '/users', { body: { username: 'unicode', password, roles: ['viewer'] } });
    expect(created.status).to.equal(201);
    expect((await login('unicode', password)).status).to.equal(200);
    expect((await login('unicode', password.normalize('NFC'))).status).to.equal(200);
    expect((await login('unicode', password.replace('\u0000', ''))).status).to.equal(401);
  });

  it('answers an unknown user and a wrong password alike, in similar time', async () => {
    await hv.addUser('timing', 'viewer');
    const unknown: number[] = [];
    const wrong: number[] = [];
    const bodies = new Set<string>();
    for (let i = 0; i < 5; i++) {
      for (const [name, into] of [
        [`nobody${i}`, unknown],
        ['timing', wrong],
      ] as const) {
        const started = performance.now();
        const answer = await login(name, `wrong password ${i}`);
        into.push(performance.now() - started);
        expect(answer.status).to.equal(401);
        bodies.add(answer.text);
      }
    }
    expect([...bodies]).to.have.length(1);
    const [u, w] = [median(unknown), median(wrong)];
    // Both paths run one memory-hard hash (~0.3 s); without the dummy hash an unknown user would answer in ~1 ms.
    // The bounds are wide because a busy test host adds noise, not because the paths may differ.
    expect(u / w, `unknown ${u.toFixed(0)} ms, wrong password ${w.toFixed(0)} ms`).to.be.within(0.6, 1.67);
    expect(Math.min(u, w), 'both paths run the memory-hard hash').to.be.above(50);
  });

  it('refuses an over-long password with 400 before hashing it, and a 1 MB one with 413; nothing written', async () => {
    const before = await events();
    const started = performance.now();
    const long = await login('alice', 'é'.repeat(257));
    expect(performance.now() - started, 'no 128 MiB hash was run').to.be.below(60);
    expect(long.status).to.equal(400);
    expect(long.json.error.message).to.match(/at most 512 bytes/);
    const huge = await login('alice', 'x'.repeat(1024 * 1024));
    expect(huge.status).to.equal(413);
    expect(huge.json.error.code).to.equal('too_large');
    expect(await events()).to.deep.equal(before);
  });

  it('refuses operator-like values, wrong types and unknown fields in a login body with 400', async () => {
    const bad: unknown[] = [
      { username: { $ne: null }, password: PASSWORD },
      { username: 'alice', password: { $gt: '' } },
      { username: ['alice'], password: PASSWORD },
      { username: 'alice', password: PASSWORD, admin: true },
      { username: 'alice' },
      { username: '../etc', password: PASSWORD },
      { username: 'alice', password: 'lone \ud800 surrogate' },
    ];
    for (const body of bad) {
      const answer = await hv.call<ErrorBody>('POST', '/auth/login', { body });
      expect(answer.status, JSON.stringify(body)).to.equal(400);
      expect(answer.json.error.code).to.be.a('string');
      expect(answer.json.error.message).to.be.a('string');
    }
    const form = await hv.call<ErrorBody>('POST', '/auth/login', {
      body: 'username=alice&password=x',
      type: 'application/x-www-form-urlencoded',
    });
    expect(form.status).to.equal(415);
  });

  it('locks an account after ten wrong passwords (429 + Retry-After, growing) while another one logs in', async () => {
    await hv.addUser('target', 'operator');
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await login('target', `guess ${i}`)).status);
    expect(statuses).to.deep.equal([401, 401, 401, 401, 401, 401, 401, 401, 401, 429]);
    const locked = await login('target', PASSWORD);
    expect(locked.status).to.equal(429);
    expect(locked.headers['retry-after']).to.equal('1');
    expect(locked.json.error.code).to.equal('locked_out');
    expect((await login('victor', PASSWORD)).status, 'another account, same address').to.equal(200);

    // A guess while locked is refused uncounted (Retry-After 1); the first once the lock ends counts and
    // locks again, twice as long. (Exact durations: auth-lockout.test.ts, on a fake clock.)
    const again = await waitUntil(
      () => login('target', 'one more guess'),
      (answer) => answer.status !== 429 || answer.headers['retry-after'] !== '1',
      { what: 'a guess counted after the first lock', intervalMs: 100 },
    );
    expect(again.status).to.equal(429);
    expect(again.headers['retry-after'], 'the second lock lasts twice as long').to.equal('2');
    const lockouts = (await events()).filter((e) => e.reason === 'LoginLockedOut' && e.data?.username === 'target');
    expect(lockouts.map((e) => e.data?.lockedForMs)).to.deep.equal([1000, 2000]);

    // The right password is refused uncounted while the lock lasts, and accepted once it ends.
    const right = await waitUntil(
      () => login('target', PASSWORD),
      (answer) => answer.status !== 429,
      { what: 'the end of the second lock', intervalMs: 100 },
    );
    expect(right.status, 'the right password once the lock ends').to.equal(200);
  });

  it('counts parallel guesses toward the lock: at most ten hashes; the right one among them gets none', async () => {
    await hv.addUser('racer', 'operator');
    const guesses = Array.from({ length: 20 }, (_, i) => login('racer', `concurrent guess ${i}`));
    // A guess refused 429 means the guesses in progress (or their failures) already fill the threshold;
    // the right password is sent only then, so it is judged among them.
    await new Promise<void>((resolve) => {
      for (const guess of guesses) void guess.then((answer) => answer.status === 429 && resolve());
      void Promise.all(guesses).then(() => resolve());
    });
    const right = await login('racer', PASSWORD);
    const answers = await Promise.all(guesses);
    expect(right.status, 'the right password while ten guesses are in progress or have locked the name').to.equal(429);
    expect(right.json.token).to.equal(undefined);
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 401).length, 'at most threshold - 1 plain refusals').to.be.at.most(9);
    for (const answer of [right, ...answers.filter((a) => a.status !== 401)]) {
      expect(answer.status).to.equal(429);
      expect(answer.json.error.code).to.equal('locked_out');
      expect(Number(answer.headers['retry-after'])).to.be.at.least(1);
    }
  });

  it('refuses the token after logout', async () => {
    const token = await hv.login('alice');
    expect((await hv.call('GET', '/status', { token })).status).to.equal(200);
    const out = await hv.call('POST', '/auth/logout', { token });
    expect(out.status).to.equal(204);
    const after = await hv.call<ErrorBody>('GET', '/status', { token });
    expect(after.status).to.equal(401);
    expect(after.headers['www-authenticate']).to.match(/^Bearer/);
    expect(after.json.error.message).to.match(/session has ended/);
    expect((await events()).some((e) => e.reason === 'LoggedOut' && e.actor === 'alice')).to.equal(true);
  });

  it('ends the sessions of a removed user, and of a user whose password changed', async () => {
    await hv.addUser('bob', 'operator');
    const token = await hv.login('bob');
    expect((await hv.admin('DELETE', '/users/bob')).status).to.equal(204);
    const refused = await hv.call<ErrorBody>('GET', '/status', { token });
    expect(refused.status).to.equal(401);
    expect(refused.json.error.message).to.match(/no longer exists/);

    await hv.addUser('carol', 'operator');
    const old = await hv.login('carol');
    expect((await hv.admin('PUT', '/users/carol', { body: { password: 'a brand new password' } })).status).to.equal(
      200,
    );
    expect((await hv.call('GET', '/status', { token: old })).status).to.equal(401);
    const fresh = await hv.login('carol', 'a brand new password');
    expect((await hv.call('GET', '/status', { token: fresh })).status).to.equal(200);
    expect((await login('carol', PASSWORD)).status).to.equal(401);
  });
});

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
