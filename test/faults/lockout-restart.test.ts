// Fault: an attacker locks an account, then the daemon restarts (a crash, an upgrade). Invariant:
// the lock outlives the process, with the time it has left, and the right password still gets 429
// until it ends; the failures before the lock are remembered across the restart too.
import { expect } from 'chai';
import { PASSWORD } from '../api-harness.js';
import { startFaultHost, type FaultHost } from './fault-host.js';

type ErrorBody = { error: { code: string; message: string } };

describe('faults: a login lockout survives a daemon restart (real daemon)', function () {
  this.timeout(90_000);
  let host: FaultHost;

  before(async () => {
    host = await startFaultHost('lockout', {
      extraConfig: 'auth: { lockout: { threshold: 3, base: 1m, max: 1h } }',
    });
    for (const name of ['target', 'slow']) {
      const add = await host.hyperctl(['users', 'add', name, '--role', 'operator'], PASSWORD);
      expect(add.code, add.stderr).to.equal(0);
    }
  });
  after(async () => {
    await host?.close();
  });

  const login = (username: string, password: string): Promise<{ status: number; headers: Record<string, unknown> }> =>
    host.call<ErrorBody>('POST', '/auth/login', { body: { username, password } });

  it('still refuses the right password after a restart, with the time the lock has left', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await login('target', `guess ${i}`)).status);
    expect(statuses).to.deep.equal([401, 401, 429]);
    await host.stop();
    await host.start();
    const after = await login('target', PASSWORD);
    expect(after.status).to.equal(429);
    const retryAfter = Number(after.headers['retry-after']);
    expect(retryAfter).to.be.within(1, 60);
  });

  it('remembers failures short of the threshold across a restart', async () => {
    expect((await login('slow', 'guess 1')).status).to.equal(401);
    expect((await login('slow', 'guess 2')).status).to.equal(401);
    await host.stop();
    await host.start();
    expect((await login('slow', 'guess 3')).status, 'the third failure in a row locks').to.equal(429);
  });
});
