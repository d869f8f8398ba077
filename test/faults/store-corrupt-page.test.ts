// Fault: one page of the `events` table overwritten in the real store file while the daemon was
// stopped. Invariants: the daemon starts and serves; no write answers 2xx, and none answers an
// error after applying itself (revision and desired state unchanged); doctor and status name the
// damage and its fix; a backup taken before, restored with the daemon stopped, brings writes back.
import { expect } from 'chai';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { PASSWORD } from '../api-harness.js';
import { parseJson } from '../cli-harness.js';
import { corruptTablePage } from '../harness/corrupt-store.js';
import { startFaultHost, type FaultHost } from './fault-host.js';

type ErrorBody = { error: { code: string; message: string } };
type DesiredBody = { number: number; doc: { paused: boolean; active: string | null } };
type StatusBody = { status: { desired: { paused: boolean } | null; observedRevision: number | null } };

describe('faults: a corrupt page of the events table (real daemon, real store file)', function () {
  this.timeout(120_000);
  let host: FaultHost;
  let token: string;
  let backupFile: string;

  before(async () => {
    host = await startFaultHost('corrupt', { extraConfig: 'auth: { tokenTtl: 10m }' });
    const add = await host.hyperctl(['users', 'add', 'olga', '--role', 'operator'], PASSWORD);
    expect(add.code, add.stderr).to.equal(0);
    const login = await host.call<{ token: string }>('POST', '/auth/login', {
      body: { username: 'olga', password: PASSWORD },
    });
    expect(login.status).to.equal(200);
    token = login.json.token;
    const first = await host.call('PUT', '/desired', { token, body: { active: null, colors: {}, paused: true } });
    expect(first.status, first.text).to.equal(201);
    // Enough events for the table to span several pages, as on a host that has run for a while.
    for (let i = 0; i < 40; i++) expect((await host.admin('POST', '/reconcile')).status).to.equal(200);
    backupFile = path.join(host.dir, 'backups', 'before.db');
    const backup = await host.hyperctl(['backup', backupFile, '--json']);
    expect(backup.code, backup.stderr + backup.stdout).to.equal(0);
    expect(statSync(backupFile).mode & 0o777).to.equal(0o600);
    await host.stop();
    corruptTablePage(host.storePath, 'events');
    await host.start();
  });
  after(async () => {
    await host?.close();
  });

  const revision = async (): Promise<DesiredBody> => (await host.admin<DesiredBody>('GET', '/desired')).json;

  it('starts and serves, with the damage in status problems and in its log', async () => {
    expect((await host.call('GET', '/healthz')).status).to.equal(200);
    const status = await host.hyperctl(['status', '--json']);
    expect(status.code, status.stderr).to.equal(0);
    const problems = parseJson<{ problems: string[] }>(status, 'status').problems;
    expect(problems.join('\n')).to.match(
      new RegExp(`StoreHealthy Damaged: ${host.storePath} is damaged .*writes are refused; fix: .*hyperctl restore`),
    );
    const human = await host.hyperctl(['status']);
    expect(human.stdout).to.match(/problems:\n {2}StoreHealthy Damaged/);
    expect(host.output()).to.match(/store: .* is damaged .*writes are refused/);
  });

  it('refuses PUT /desired and POST /resume with 503; neither the revision nor the desired state changes', async () => {
    const before = await revision();
    const put = await host.call<ErrorBody>('PUT', '/desired', {
      token,
      body: { active: null, colors: {}, paused: false },
    });
    const resume = await host.call<ErrorBody>('POST', '/resume', { token });
    for (const answer of [put, resume]) {
      expect(answer.status, answer.text).to.equal(503);
      expect(answer.json.error.code).to.equal('store_damaged');
      expect(answer.json.error.message)
        .to.contain(host.storePath)
        .and.match(/hyperctl restore/);
    }
    expect(await revision()).to.deep.equal(before);
    const status = (await host.admin<StatusBody>('GET', '/status')).json.status;
    expect(status.desired?.paused, 'the loop still acts on the paused document').to.equal(true);
    expect(host.output(), 'a chosen 503 logs no stack').to.not.match(/\n\s+at /);
  });

  it('refuses a login with 503 and starts no session', async () => {
    const login = await host.call<ErrorBody>('POST', '/auth/login', { body: { username: 'olga', password: PASSWORD } });
    expect(login.status).to.equal(503);
    expect(login.json.error.code).to.equal('store_damaged');
    expect(login.text).to.not.contain('token');
  });

  it('fails hyperctl doctor on the store, with the fix', async () => {
    const doctor = await host.hyperctl(['doctor', '--json']);
    expect(doctor.code).to.equal(1);
    const checks = parseJson<{ checks: Array<{ name: string; status: string; detail: string; fix: string }> }>(
      doctor,
      'doctor',
    ).checks;
    const store = checks.find((c) => c.name === 'store')!;
    expect(store.status).to.equal('fail');
    expect(store.detail).to.contain(host.storePath);
    expect(store.fix).to.match(/hyperctl restore BACKUP/);
  });

  it('restores the backup only once the daemon stopped, keeps the damaged file aside; writes work again', async () => {
    const refused = await host.hyperctl(['restore', backupFile]);
    expect(refused.code, refused.stdout).to.equal(4);
    expect(refused.stderr).to.match(/is open in pid \d+ .*stop the daemon first/);
    await host.stop();
    const restored = parseJson<{ file: string; keptAside: string }>(
      await host.hyperctl(['restore', backupFile, '--json']),
      'restore',
    );
    expect(restored.file).to.equal(host.storePath);
    expect(existsSync(restored.keptAside)).to.equal(true);
    expect(statSync(host.storePath).mode & 0o777).to.equal(0o600);
    const doctor = await host.hyperctl(['doctor', '--json']);
    const store = parseJson<{ checks: Array<{ name: string; status: string }> }>(doctor, 'doctor').checks.find(
      (c) => c.name === 'store',
    );
    expect(store?.status).to.equal('ok');
    await host.start();
    const resume = await host.call<DesiredBody & { revision: { number: number } }>('POST', '/resume', { token });
    expect(resume.status, resume.text).to.equal(201);
    expect(resume.json.revision.number).to.equal(2);
  });
});
