// gates.canary end to end: the real `hypervisor` binary with the systemd driver against a real
// `systemd --user`, the example backend built from real tags, real HTTP clients with cookie jars of
// their own on loopback. A switch gives green 10% of the clients; 200 clients and 2,000 requests
// later the share is 10% ± 3 points and no client saw both versions; a restart resumes the step with
// every client where it was; `hyper-cli switch --to green --now` finishes the switch.
import { expect } from 'chai';
import path from 'node:path';
import { Pool } from 'undici';
import type { ChangeAnswer, ReconcileAnswer, StatusAnswer } from '../api/wire.js';
import type { Revision } from '../common/types.js';
import { SystemdDriver } from '../units/systemd-driver.js';
import { PASSWORD, request, type Answer } from './api-harness.js';
import { runBin, scratchDir, startDaemonProcess, type DaemonProcess } from '../harness/daemon-process.js';
import { createExampleRepo } from '../harness/example-repo.js';
import { writeTestConfig, type TestConfig } from './harness/daemon-config.js';
import { sharedUserManager, type SharedUserManager } from './harness/systemd-user.js';
import { waitFor } from './harness/wait.js';

const V1 = 'v26.11.27.0';
const V2 = 'v26.11.27.1';
const CLIENTS = 200;
const REQUESTS_PER_CLIENT = 10;
/** Requests in flight at once over all clients: bounded load. */
const CONNECTIONS = 32;

/** One client with its own cookie jar (the proxy's cookie is the only one set), asking /version. */
class Client {
  cookie: string | null = null;
  readonly versions: string[] = [];

  async get(pool: Pool): Promise<string> {
    const res = await pool.request({
      method: 'GET',
      path: '/version',
      headers: this.cookie === null ? {} : { cookie: this.cookie },
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    const body = await res.body.text();
    expect(res.statusCode, body).to.equal(200);
    const set = [res.headers['set-cookie'] ?? []].flat().find((c) => c.startsWith('hypervisor_canary='));
    if (set) this.cookie = set.split(';', 1)[0]!;
    this.versions.push(body);
    return body;
  }
}

describe('canary steps end to end (real daemon, real systemd units, real clients)', function () {
  this.timeout(240_000);
  let manager: SharedUserManager;
  let scratch: { dir: string; remove(): Promise<void> };
  let config: TestConfig;
  let daemon: DaemonProcess;
  let cliEnv: NodeJS.ProcessEnv;
  let pool: Pool;

  const admin = async <T>(method: string, route: string, body?: unknown): Promise<T> => {
    const answer: Answer<T> = await request<T>(
      { socketPath: config.socket },
      method,
      route,
      body === undefined ? {} : { body },
    );
    if (answer.status >= 300) throw new Error(`${method} ${route}: ${answer.status} ${answer.text}`);
    return answer.json;
  };
  const status = async (): Promise<StatusAnswer['status']> => (await admin<StatusAnswer>('GET', '/status')).status;
  const reconcileUntil = (what: string, accept: (pass: ReconcileAnswer) => boolean): Promise<ReconcileAnswer> =>
    waitFor(
      what,
      async () => {
        const pass = await admin<ReconcileAnswer>('POST', '/reconcile');
        return accept(pass) ? pass : null;
      },
      120_000,
    );
  const bothReady = (p: ReconcileAnswer): boolean =>
    p.status.colors?.blue.phase === 'Ready' &&
    p.status.colors.blue.runningTag === V1 &&
    p.status.colors.green.phase === 'Ready' &&
    p.status.colors.green.runningTag === V2;

  before(async () => {
    manager = await sharedUserManager();
    scratch = await scratchDir('hv-canary-');
    const repo = await createExampleRepo(path.join(scratch.dir, 'backend'));
    await repo.release(V1.slice(1));
    await repo.release(V2.slice(1));
    config = await writeTestConfig({
      appName: `canary-${process.pid}`,
      dir: scratch.dir,
      repo: repo.path,
      driver: 'systemd',
      scriptTimeouts: { build: '2m', test: '2m' },
      // Every pass is one the test asks for; a step lasts longer than the test, so it is never judged.
      intervals: { health: '1h', reconcile: '1h' },
      extra: 'policy: { autoStage: false }\ngates: { canary: { steps: [10, 50], stepDuration: 1h } }',
    });
    daemon = await startDaemonProcess(config.path, manager.env, config.publicUrl);
    await admin('POST', '/users', { username: 'otto', password: PASSWORD, roles: ['operator'] });
    cliEnv = {
      ...process.env,
      HYPER_CLI_SESSION: path.join(scratch.dir, 'session.json'),
      HYPER_SERVER: config.publicUrl,
    };
    const login = await runBin('hyper-cli', ['login', '--user', 'otto', '--password-stdin'], cliEnv, PASSWORD);
    expect(login.code, login.stderr + login.stdout).to.equal(0);
    await admin('PUT', '/desired', { active: 'blue', colors: { blue: { tag: V1 }, green: { tag: V2 } } });
    await reconcileUntil('blue serving v1 and green Ready at v2', (p) => bothReady(p) && p.status.active === 'blue');
    pool = new Pool(config.publicUrl, { connections: CONNECTIONS });
  });

  after(async () => {
    await pool?.close();
    await daemon?.stop();
    if (manager) {
      const driver = new SystemdDriver({ appName: config.appName, env: manager.env });
      for (const color of ['blue', 'green'] as const) await driver.uninstall(color).catch(() => undefined);
    }
    await manager?.release();
    await scratch?.remove();
  });

  const clients = Array.from({ length: CLIENTS }, () => new Client());

  it('at 10%: 2,000 requests from 200 clients, green share 10% ± 3 points, every client on one version', async () => {
    const switched = await admin<ChangeAnswer>('POST', '/switch', {});
    expect(switched.revision.doc.active).to.equal('green');
    expect(switched.active, 'public traffic stays on blue while the canary runs').to.equal('blue');
    expect(switched.waiting).to.match(/^canary: green \(v26\.11\.27\.1\) has 10% of the clients, step 1 of 3/);
    const s = await status();
    expect(s.weights).to.deep.equal({ blue: 90, green: 10 });
    expect(s.canary).to.deep.include({ phase: 'stepping', from: 'blue', to: 'green', tag: V2, weight: 10, step: 1 });

    await Promise.all(
      clients.map(async (client) => {
        for (let i = 0; i < REQUESTS_PER_CLIENT; i++) await client.get(pool);
      }),
    );
    const all = clients.flatMap((c) => c.versions);
    expect(all).to.have.length(2_000);
    const share = (100 * all.filter((v) => v === V2.slice(1)).length) / all.length;
    expect(share, `green share ${share}%`).to.be.within(7, 13);
    const flipped = clients.filter((c) => new Set(c.versions).size !== 1);
    expect(
      flipped.map((c) => c.versions.join(',')),
      'clients that saw both versions',
    ).to.deep.equal([]);
    console.log(`      green (v2) share ${share.toFixed(1)}% of ${all.length} requests from ${CLIENTS} clients`);

    const shown = await runBin('hyper-cli', ['status'], cliEnv);
    expect(shown.code, shown.stderr).to.equal(0);
    expect(shown.stdout).to.match(/weights {2}blue 90% {2}green 10%/);
    expect(shown.stdout).to.match(/canary {3}v26\.11\.27\.1 on green: 10% of the clients, step 1 of 3/);
  });

  it('a restart resumes the step, and every client stays on its version', async () => {
    await daemon.stop();
    daemon = await startDaemonProcess(config.path, manager.env, config.publicUrl);
    const resumed = await reconcileUntil('the canary resumed', (p) => p.status.canary?.phase === 'stepping');
    expect(resumed.status.canary).to.deep.include({ to: 'green', weight: 10, step: 1 });
    expect(resumed.status.weights).to.deep.equal({ blue: 90, green: 10 });
    const before = clients.map((c) => c.versions[0]);
    for (const client of clients) await client.get(pool);
    expect(clients.map((c) => c.versions.at(-1))).to.deep.equal(before);
  });

  it('hyper-cli switch --to green --now skips the steps left: every client on green', async () => {
    const ran = await runBin('hyper-cli', ['switch', '--to', 'green', '--now', '--json'], cliEnv);
    expect(ran.code, ran.stderr + ran.stdout).to.equal(0);
    const answer = JSON.parse(ran.stdout) as ChangeAnswer & { weights: unknown };
    expect(answer.active).to.equal('green');
    expect(answer.weights).to.deep.equal({ blue: 0, green: 100 });
    const s = await status();
    expect(s.canary).to.equal(null);
    for (const client of clients) await client.get(pool);
    expect(new Set(clients.map((c) => c.versions.at(-1)))).to.deep.equal(new Set([V2.slice(1)]));
    const history = await admin<{ revisions: Revision[] }>('GET', '/desired/history');
    expect(history.revisions[0]!.doc.active).to.equal('green');
  });
});
