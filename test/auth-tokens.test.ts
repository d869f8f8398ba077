// Tokens the daemon must refuse, against a real daemon: forged, wrong algorithm or key, missing or
// bad claims, expired tokens and expired sessions. Every refusal is a 401 and writes nothing.
import { expect } from 'chai';
import { randomBytes, randomUUID } from 'node:crypto';
import { decodeJwt, SignJWT, type JWTPayload } from 'jose';
import { readSecret, startTestDaemon, type TestDaemon } from './api-harness.js';

type ErrorBody = { error: { code: string; message: string } };
const ISS = 'openhack-hypervisor';

describe('auth: tokens the daemon refuses (real daemon)', function () {
  this.timeout(60_000);
  let hv: TestDaemon;
  let secret: Uint8Array;
  let good: string;
  let sessionId: string;

  before(async () => {
    hv = await startTestDaemon();
    await hv.addUser('olivia', 'operator');
    good = await hv.login('olivia');
    sessionId = decodeJwt(good).jti!;
    secret = await readSecret(hv.secretFile);
  });
  after(async () => {
    await hv?.close();
  });

  const now = (): number => Math.floor(Date.now() / 1000);
  /** A token as the daemon would sign it, with `change` applied to the claims (undefined removes one). */
  const claims = (change: Partial<Record<keyof JWTPayload, unknown>> = {}): Record<string, unknown> => {
    const base: Record<string, unknown> = {
      sub: 'olivia',
      iss: ISS,
      aud: ISS,
      iat: now(),
      exp: now() + 600,
      jti: sessionId,
      ...change,
    };
    for (const key of Object.keys(base)) if (base[key] === undefined) delete base[key];
    return base;
  };
  const sign = (payload: Record<string, unknown>, alg = 'HS256', key: Uint8Array = secret): Promise<string> =>
    new SignJWT(payload).setProtectedHeader({ alg, typ: 'JWT' }).sign(key);
  const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

  /** A switch (state-changing) with the token: refused with 401, and no revision or event written. */
  const refused = async (token: string, message?: RegExp): Promise<void> => {
    const before = {
      desired: (await hv.admin('GET', '/desired/history')).text,
      events: (await hv.admin('GET', '/events?limit=1000')).text,
    };
    const answer = await hv.call<ErrorBody>('POST', '/stage', { token, body: { tag: 'v26.11.27.0' } });
    expect(answer.status, answer.text).to.equal(401);
    expect(answer.json.error.code).to.equal('unauthorized');
    if (message) expect(answer.json.error.message).to.match(message);
    const after = {
      desired: (await hv.admin('GET', '/desired/history')).text,
      events: (await hv.admin('GET', '/events?limit=1000')).text,
    };
    expect(after).to.deep.equal(before);
  };

  it('accepts the token it issued (the forging below changes one thing at a time)', async () => {
    expect((await hv.call('GET', '/auth/me', { token: good })).status).to.equal(200);
    expect((await hv.call('GET', '/auth/me', { token: await sign(claims()) })).status).to.equal(200);
  });

  it('refuses alg: none', async () => {
    await refused(`${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`);
  });

  it('refuses another algorithm, even with the right key', async () => {
    await refused(await sign(claims(), 'HS512'), /alg/i);
    await refused(await sign(claims(), 'HS384'), /alg/i);
  });

  it('refuses a token signed with another key', async () => {
    await refused(await sign(claims(), 'HS256', randomBytes(64)), /signature/);
  });

  it('refuses a token without exp, iat, jti or sub', async () => {
    for (const claim of ['exp', 'iat', 'jti', 'sub'])
      await refused(await sign(claims({ [claim]: undefined })), new RegExp(claim));
  });

  it('refuses a token issued in the future', async () => {
    await refused(await sign(claims({ iat: now() + 3600, exp: now() + 3900 })), /iat/);
  });

  it('refuses a wrong audience or issuer', async () => {
    await refused(await sign(claims({ aud: 'someone-else' })), /aud/);
    await refused(await sign(claims({ iss: 'someone-else' })), /iss/);
  });

  it('refuses a token that claims to live longer than the configured TTL', async () => {
    await refused(await sign(claims({ exp: now() + 86_400 })), /TTL/);
  });

  it('refuses an expired token even though its session record is still valid', async () => {
    await refused(await sign(claims({ iat: now() - 1200, exp: now() - 600 })), /exp/);
  });

  it('refuses an expired session even while its record is still in the store', async () => {
    const id = randomUUID();
    // A session that ended a second ago, not yet purged: no need to wait for one to run out.
    const ended = Date.now() - 1_000;
    await hv.daemon.store.createSession({
      id,
      username: 'olivia',
      createdAt: new Date(ended - 60_000).toISOString(),
      expiresAt: new Date(ended).toISOString(),
    });
    const token = await sign(claims({ jti: id }));
    await refused(token, /session has ended/);
  });

  it('refuses a token for a session that was never created, and a malformed Authorization header', async () => {
    await refused(await sign(claims({ jti: randomUUID() })), /session has ended/);
    const answer = await hv.call<ErrorBody>('GET', '/status', {
      headers: { authorization: `Basic ${Buffer.from('olivia:x').toString('base64')}` },
    });
    expect(answer.status).to.equal(401);
    expect(answer.json.error.message).to.match(/Bearer/);
    await refused('not-a-jwt.at.all');
  });

  it('refuses a valid token whose session belongs to another user', async () => {
    await hv.addUser('mallory', 'viewer');
    await refused(await sign(claims({ sub: 'mallory' })), /session has ended/);
  });
});
