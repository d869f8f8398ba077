// The smoke gate end to end, as an operator sees it: the real `hypervisor` binary with the systemd
// driver against a real `systemd --user`, the example backend built from real tags pushed by signed
// webhooks (so autoStage and autoPromote act), its own SMOKE script run against each Ready color.
// A release whose SMOKE fails stays Ready but is not promotable: switch answers 409 gate_failed and
// autoPromote leaves traffic where it is; one whose SMOKE passes is promoted, and switch lets it through.
import { expect } from 'chai';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { simpleGit } from 'simple-git';
import type { DeploymentsAnswer, StatusAnswer } from '../api/wire.js';
import type { Color, EventRecord, ReleaseRecord } from '../common/types.js';
import { SystemdDriver } from '../units/systemd-driver.js';
import { PASSWORD, request, type Answer } from './api-harness.js';
import { runBin, scratchDir, startDaemonProcess, type DaemonProcess } from '../harness/daemon-process.js';
import { createExampleRepo, exampleBackendDir, type ExampleRepo } from '../harness/example-repo.js';
import { post, signed, tagPush, TEST_SECRET } from '../harness/github-deliveries.js';
import { writeTestConfig } from './harness/daemon-config.js';
import { sharedUserManager, type SharedUserManager } from './harness/systemd-user.js';
import { waitFor } from './harness/wait.js';

const REPOSITORY = 'test-org/backend';
const V1 = 'v26.11.27.0';
const V2 = 'v26.11.27.1';
const V3 = 'v26.11.27.2';
const FAILING_SMOKE = `#!/bin/sh
echo "smoke test of $HYPERVISOR_TAG ($HYPERVISOR_VERSION) on $HYPERVISOR_COLOR at $HYPERVISOR_TARGET_URL"
echo "the checkout page answers 500" >&2
exit 3
`;

describe('the smoke gate, end to end (real daemon, real systemd units, real webhooks)', function () {
  this.timeout(300_000);
  let manager: SharedUserManager;
  let scratch: { dir: string; remove(): Promise<void> };
  let repo: ExampleRepo;
  let daemon: DaemonProcess;
  let appName: string;
  let publicUrl: string;
  let socket: string;
  let cliEnv: NodeJS.ProcessEnv;

  const admin = <T>(method: string, route: string, body?: unknown): Promise<Answer<T>> =>
    request<T>({ socketPath: socket }, method, route, body === undefined ? {} : { body });
  const status = async (): Promise<StatusAnswer> => (await admin<StatusAnswer>('GET', '/status')).json;
  const events = async (): Promise<EventRecord[]> =>
    (await admin<{ events: EventRecord[] }>('GET', '/events?limit=1000')).json.events;
  const release = async (tag: string): Promise<ReleaseRecord> =>
    (await admin<{ release: ReleaseRecord }>('GET', `/releases/${tag}`)).json.release;
  const version = async (): Promise<string> =>
    (await fetch(`${publicUrl}/version`, { signal: AbortSignal.timeout(2_000) })).text();
  const hyperCli = (args: string[]) => runBin('hyper-cli', args, cliEnv);
  const push = async (tag: string): Promise<void> => {
    const sha = (await simpleGit(repo.path).revparse([`${tag}^{commit}`])).trim();
    const answer = await post(publicUrl, signed(TEST_SECRET, 'push', tagPush(tag, sha, REPOSITORY, 'ana')));
    expect(answer.status, JSON.stringify(answer.json)).to.equal(202);
  };
  /** The status once `color` runs `tag` with its smoke gate in `state`. */
  const smokeOf = (color: Color, tag: string, state: 'passed' | 'failed'): Promise<StatusAnswer> =>
    waitFor(
      `${color} at ${tag} with its smoke ${state}`,
      async () => {
        const s = await status();
        const c = s.status.colors?.[color];
        return c?.runningTag === tag && c.phase === 'Ready' && c.smoke?.state === state ? s : null;
      },
      150_000,
    );

  before(async () => {
    manager = await sharedUserManager();
    scratch = await scratchDir('hv-smoke-');
    repo = await createExampleRepo(path.join(scratch.dir, 'backend'));
    await repo.release(V1.slice(1));
    const secretFile = path.join(scratch.dir, 'webhook-secret');
    await writeFile(secretFile, `${TEST_SECRET}\n`, { mode: 0o600 });
    const config = await writeTestConfig({
      appName: `smoke-${process.pid}`,
      dir: scratch.dir,
      repo: repo.path,
      driver: 'systemd',
      scriptTimeouts: { build: '2m', test: '2m' },
      extra: `proxy: { drainTimeout: 2s }
gates: { smoke: { command: SMOKE, timeout: 30s } }
github: { repository: ${REPOSITORY}, secretFile: ${secretFile} }
policy: { autoStage: true, autoPromote: true }`,
    });
    ({ appName, socket, publicUrl } = config);
    daemon = await startDaemonProcess(config.path, manager.env, publicUrl);
    await admin('POST', '/users', { username: 'olga', password: PASSWORD, roles: ['operator'] });
    cliEnv = { ...process.env, HYPER_CLI_SESSION: path.join(scratch.dir, 'session.json'), HYPER_SERVER: publicUrl };
    const login = await runBin('hyper-cli', ['login', '--user', 'olga', '--password-stdin'], cliEnv, PASSWORD);
    expect(login.code, login.stderr + login.stdout).to.equal(0);
    const put = await admin('PUT', '/desired', { active: 'blue', colors: { blue: { tag: V1 } } });
    expect(put.status, put.text).to.equal(201);
    await smokeOf('blue', V1, 'passed');
  });

  after(async () => {
    await daemon?.stop();
    if (manager) {
      const driver = new SystemdDriver({ appName, env: manager.env });
      for (const color of ['blue', 'green'] as const) await driver.uninstall(color).catch(() => undefined);
    }
    await manager?.release();
    await scratch?.remove();
  });

  it('runs SMOKE against the first color with its target in its environment; the ledger keeps the result', async () => {
    expect(await version()).to.equal(V1.slice(1));
    const smoke = (await release(V1)).smoke!;
    expect(smoke).to.include({ passed: true, exitCode: 0, color: 'blue', summary: 'SMOKE exited with code 0' });
    const log = await hyperCli(['logs', V1, '--smoke']);
    expect(log.code, log.stderr).to.equal(0);
    expect(log.stdout).to.contain(`smoke test of ${V1} on blue at http://127.0.0.1:`).and.contain('SMOKE passed');
    const reasons = (await events()).map((e) => e.reason);
    expect(reasons).to.include.members(['PhaseVerifying', 'SmokePassed']);
    const { deployments } = (await admin<DeploymentsAnswer>('GET', '/deployments')).json;
    expect(deployments[0]).to.deep.include({ color: 'blue', tag: V1, endedAt: null });
    expect(deployments[0]!.gates.map((g) => [g.name, g.result])).to.deep.equal([['smoke', 'passed']]);
  });

  it('a failing SMOKE blocks the switch with 409 gate_failed, and autoPromote does not switch', async () => {
    await repo.commitFile('SMOKE', FAILING_SMOKE, 'a smoke test that fails');
    await repo.release(V2.slice(1));
    await push(V2);
    const held = await smokeOf('green', V2, 'failed');
    expect(held.status.colors!.green.smoke).to.include({ logCommand: `hyper-cli logs ${V2} --smoke` });
    const failed = (await events()).find((e) => e.reason === 'SmokeFailed')!;
    expect(failed).to.deep.include({ color: 'green' });
    expect(failed.data).to.deep.include({ tag: V2, step: 'smoke', exitCode: 3, passed: false });
    // autoPromote decides after every pass: five more passes give it five chances to switch.
    const seen = new Set<string>();
    await waitFor('five more passes', async () => {
      seen.add((await status()).status.lastReconcileAt ?? '');
      return seen.size >= 5 ? true : null;
    });
    const after = await status();
    expect(after.status.active).to.equal('blue');
    expect(after.revision!.doc).to.deep.include({ active: 'blue' });
    expect(after.revision!.doc.colors.green.tag).to.equal(V2);
    expect((await events()).map((e) => e.reason)).to.not.include('AutoPromoted');
    expect(await version()).to.equal(V1.slice(1));

    const refused = await admin<{ error: { code: string; message: string; details: object } }>('POST', '/switch', {});
    expect(refused.status).to.equal(409);
    expect(refused.json.error).to.deep.include({ code: 'gate_failed' });
    expect(refused.json.error.details).to.deep.include({ gate: 'smoke', logCommand: `hyper-cli logs ${V2} --smoke` });
    const cli = await hyperCli(['switch']);
    expect(cli.code, cli.stdout + cli.stderr).to.equal(4);
    expect(cli.stderr).to.contain('green is not promotable: smoke failed: SMOKE exited with code 3');
    expect(cli.stderr).to.contain(`hyper-cli logs ${V2} --smoke`);
    const log = await hyperCli(['logs', V2, '--smoke']);
    expect(log.stdout).to.contain('the checkout page answers 500').and.contain('SMOKE exited with code 3');
    const again = await hyperCli(['smoke', V2]);
    expect(again.code, again.stdout + again.stderr).to.equal(1);
    expect(again.stdout).to.contain('smoke test of v26.11.27.1 against green queued');
    expect((await status()).revision!.doc.active).to.equal('blue');
    // Every recorded run is counted: the failing ones match the SmokeFailed events one for one.
    const smokeFailed = (await events()).filter((e) => e.reason === 'SmokeFailed').length;
    const metrics = (await admin('GET', '/metrics')).text;
    expect(metrics).to.contain(`hypervisor_gate_results_total{gate="smoke",result="failed"} ${smokeFailed}`);
  });

  it('a passing SMOKE lets autoPromote switch, and switch goes through', async () => {
    await repo.commitFile('SMOKE', await readFile(path.join(exampleBackendDir(), 'SMOKE'), 'utf8'), 'SMOKE passes');
    await repo.release(V3.slice(1));
    await push(V3);
    await waitFor(
      `traffic on green at ${V3}`,
      async () => {
        const s = (await status()).status;
        return s.active === 'green' && s.colors?.green.runningTag === V3 ? s : null;
      },
      150_000,
    );
    expect(await version()).to.equal(V3.slice(1));
    const trail = await events();
    const passed = trail.findIndex((e) => e.reason === 'SmokePassed' && e.data?.tag === V3);
    const promoted = trail.findIndex((e) => e.reason === 'AutoPromoted');
    expect(passed, 'SmokePassed of V3').to.be.at.least(0);
    expect(promoted, 'AutoPromoted after it').to.be.above(passed);
    const { deployments } = (await admin<DeploymentsAnswer>('GET', '/deployments')).json;
    expect(deployments[0]).to.deep.include({ color: 'green', tag: V3, switchedBy: 'policy' });
    expect(deployments[0]!.gates.map((g) => [g.name, g.result])).to.deep.equal([['smoke', 'passed']]);

    const switched = await hyperCli(['switch', '--to', 'blue']);
    expect(switched.code, switched.stdout + switched.stderr).to.equal(0);
    expect(await version()).to.equal(V1.slice(1));
    const history = await hyperCli(['history']);
    expect(history.code, history.stderr).to.equal(0);
    expect(history.stdout).to.match(new RegExp(`^${V1}\\s+blue\\s+olga\\s+\\S+\\s+smoke passed\\s+serving$`, 'm'));
    expect(history.stdout).to.contain('change-failure rate 0.0% (0 of 3 deployments failed); median time to restore -');
  });
});
