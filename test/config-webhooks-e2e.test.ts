// hyper-cli webhooks and config get|set end to end, as operators see them: the real `hypervisor`
// binary (process units), the example backend's repo, real GitHub payloads signed and sent to the
// daemon, two hyperusers logged in with hyper-cli (an admin and an operator). `config set
// policy.autoPromote true` promotes a Ready release without a restart; the operator is refused (exit
// 3); a bad value or a file-only key changes nothing (exit 2); the change survives a restart.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { simpleGit } from 'simple-git';
import type { DeliveryAnswer, StatusAnswer } from '../api/wire.js';
import type { Color, EventRecord } from '../common/types.js';
import { fixture, post, signed, tagPush, TEST_SECRET } from '../harness/github-deliveries.js';
import { binPath, runBin, scratchDir, startDaemonProcess, type DaemonProcess } from '../harness/daemon-process.js';
import { createExampleRepo, type ExampleRepo } from '../harness/example-repo.js';
import { request } from './api-harness.js';
import { removeProcessUnits, writeTestConfig, type TestConfig } from './harness/daemon-config.js';
import { loginOperator } from './harness/operator.js';
import { waitFor } from './harness/wait.js';

const REPOSITORY = 'test-org/backend';
const [V1, V2] = ['v26.11.27.0', 'v26.11.27.1'];
const URL_TOKEN = 'a-token-in-a-url';

describe('hyper-cli webhooks and config get|set, end to end (real daemon process)', function () {
  this.timeout(180_000);
  let scratch: { dir: string; remove(): Promise<void> };
  let repo: ExampleRepo;
  let config: TestConfig | undefined;
  let daemon: DaemonProcess | undefined;
  let hookSecretFile: string;
  const sessions = { admin: '', operator: '' };

  const cli = (as: keyof typeof sessions, args: string[]) =>
    runBin('hyper-cli', args, { ...process.env, HYPER_CLI_SESSION: sessions[as], NO_COLOR: '1' });
  const status = async (): Promise<StatusAnswer> =>
    (await request<StatusAnswer>({ socketPath: config!.socket }, 'GET', '/status')).json;
  const events = async (): Promise<EventRecord[]> =>
    (await request<{ events: EventRecord[] }>({ socketPath: config!.socket }, 'GET', '/events?limit=1000')).json.events;
  const readyAt = (color: Color, tag: string): Promise<StatusAnswer> =>
    waitFor(
      `${color} Ready at ${tag}`,
      async () => {
        const s = await status();
        const c = s.status.colors?.[color];
        return c?.phase === 'Ready' && c.runningTag === tag ? s : null;
      },
      90_000,
    );
  const deliver = async (event: string, body: Record<string, unknown>, id: string): Promise<number> =>
    (await post(config!.publicUrl, signed(TEST_SECRET, event, body, id))).status;
  const overridesFile = (): string => path.join(config!.root, 'config-overrides.json');

  before(async () => {
    scratch = await scratchDir('hv-config-');
    repo = await createExampleRepo(path.join(scratch.dir, 'backend'));
    await repo.release(V1.slice(1));
    const secretFile = path.join(scratch.dir, 'webhook-secret');
    await writeFile(secretFile, `${TEST_SECRET}\n`, { mode: 0o600 });
    hookSecretFile = path.join(scratch.dir, 'hook-secret');
    await writeFile(hookSecretFile, 'a notify secret\n', { mode: 0o600 });
    config = await writeTestConfig({
      appName: `cfg-${process.pid}`,
      dir: scratch.dir,
      repo: repo.path,
      scriptTimeouts: { build: '10s', test: '30s' },
      extra: `github: { repository: ${REPOSITORY}, secretFile: ${secretFile} }
policy: { autoStage: true, autoPromote: false }
notify:
  - name: ci
    kind: webhook
    url: 'http://127.0.0.1:9/hook?token=${URL_TOKEN}'
    secretFile: ${hookSecretFile}
    on: [disk_low]`,
    });
    daemon = await startDaemonProcess(config.path, {}, config.publicUrl);
    for (const role of ['admin', 'operator'] as const) {
      sessions[role] = path.join(scratch.dir, `${role}-session.json`);
      const login = { socket: config.socket, publicUrl: config.publicUrl, sessionFile: sessions[role] };
      await loginOperator({ ...login, username: `${role}1`, password: `a ${role}'s password`, role });
    }
    const put = await request({ socketPath: config.socket }, 'PUT', '/desired', {
      body: { active: 'blue', colors: { blue: { tag: V1 } } },
    });
    expect(put.status, put.text).to.equal(201);
    await readyAt('blue', V1);
  });

  after(async () => {
    await daemon?.stop();
    if (config) await removeProcessUnits(config);
    await scratch?.remove();
  });

  it('lists the signed deliveries the daemon took, with what each led to; a forged one is not there', async () => {
    const sha = (await simpleGit(repo.path).revparse([`${await repo.release(V2.slice(1))}^{commit}`])).trim();
    expect(await deliver('ping', fixture('ping-payload.json', REPOSITORY), 'ping-1')).to.equal(200);
    expect(await deliver('push', fixture('push-with-new-branch.payload.json', REPOSITORY), 'branch-1')).to.equal(200);
    expect(await deliver('push', tagPush(V2, sha, REPOSITORY, 'ana'), 'tag-1')).to.equal(202);
    const forged = signed('not the secret', 'ping', fixture('ping-payload.json', REPOSITORY), 'forged-1');
    expect((await post(config!.publicUrl, forged)).status).to.equal(401);

    const listed = await cli('operator', ['webhooks', '--json']);
    expect(listed.code, listed.stderr).to.equal(0);
    const list = JSON.parse(listed.stdout) as DeliveryAnswer[];
    expect(list.map((d) => [d.deliveryId, d.event, d.ref])).to.deep.equal([
      ['ping-1', 'ping', null],
      ['branch-1', 'push', 'refs/heads/master'],
      ['tag-1', 'push', `refs/tags/${V2}`],
    ]);
    expect(list[0]!.outcome).to.equal('pong');
    expect(list[1]!.outcome).to.match(/^ignored: a push to .*refs\/heads\/master.* is not a tag$/);
    expect(list[2]!.outcome).to.match(new RegExp(`^release ${V2.replace(/\./g, '\\.')}: `));
    const table = await cli('operator', ['webhooks']);
    expect(table.stdout).to.match(/^RECEIVED\s+DELIVERY\s+EVENT\s+REF\s+OUTCOME/);
    expect(table.stdout).to.match(/tag-1\s+push\s+refs\/tags\/v26\.11\.27\.1\s+release v26\.11\.27\.1: /);
  });

  it('follows new deliveries as they arrive (--follow)', async () => {
    const child = spawn(process.execPath, [binPath('hyper-cli'), 'webhooks', '--follow', '--json'], {
      env: { ...process.env, HYPER_CLI_SESSION: sessions.operator },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await waitFor('the earlier deliveries', async () => (out.includes('"tag-1"') ? true : null));
      expect(await deliver('ping', fixture('ping-payload.json', REPOSITORY), 'ping-2')).to.equal(200);
      await waitFor('the new delivery streamed', async () => (out.includes('"ping-2"') ? true : null));
      const last = JSON.parse(out.trim().split('\n').at(-1)!) as DeliveryAnswer;
      expect(last).to.include({ deliveryId: 'ping-2', event: 'ping', outcome: 'pong' });
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('config get shows the running config: secret files by path, no secret value', async () => {
    for (const role of ['operator', 'admin'] as const) {
      const shown = await cli(role, ['config', 'get']);
      expect(shown.code, shown.stderr).to.equal(0);
      expect(shown.stdout).to.contain(hookSecretFile).and.contain('[redacted]').and.contain('# no runtime changes');
      expect(shown.stdout).not.to.contain(URL_TOKEN);
      expect(shown.stdout).not.to.contain(TEST_SECRET);
    }
    const json = JSON.parse((await cli('operator', ['config', 'get', '--json'])).stdout) as {
      config: { policy: { autoPromote: boolean }; notify: Array<{ url: string }> };
    };
    expect(json.config.policy.autoPromote).to.equal(false);
    expect(json.config.notify[0]!.url).to.equal('http://127.0.0.1:9/hook?token=[redacted]');
  });

  it('config set policy.autoPromote true: an operator is refused (exit 3); an admin promotes, no restart', async () => {
    await readyAt('green', V2);
    // A whole pass after green turned Ready: autoPromote is off, so traffic stays on blue.
    const seen = (await status()).status.lastReconcileAt;
    await waitFor('another pass', async () => ((await status()).status.lastReconcileAt !== seen ? true : null));
    expect((await status()).status.active).to.equal('blue');

    const refused = await cli('operator', ['config', 'set', 'policy.autoPromote', 'true']);
    expect(refused.code, refused.stderr).to.equal(3);
    const badValue = await cli('admin', ['config', 'set', 'policy.autoPromote', 'maybe']);
    expect(badValue.code).to.equal(2);
    expect(badValue.stderr).to.contain('policy.autoPromote').and.contain('must be true or false');
    const fileOnly = await cli('admin', ['config', 'set', 'listen.public', '0.0.0.0:1']);
    expect(fileOnly.code).to.equal(2);
    expect(fileOnly.stderr).to.contain('listen.public').and.contain('read from the config file only');
    expect(existsSync(overridesFile()), 'nothing was saved').to.equal(false);
    expect((await status()).status.active).to.equal('blue');

    const set = await cli('admin', ['config', 'set', 'policy.autoPromote', 'true']);
    expect(set.code, set.stderr).to.equal(0);
    const promoted = await waitFor('green promoted', async () => {
      const s = await status();
      return s.status.active === 'green' ? s : null;
    });
    expect(promoted.revision).to.deep.include({ source: 'policy' });
    const changed = (await events()).filter((e) => e.reason === 'ConfigChanged');
    expect(changed.map((e) => [e.actor, e.message])).to.deep.equal([
      ['admin1', 'admin1 set policy.autoPromote to true (applied without a restart)'],
    ]);
    expect(statSync(overridesFile()).mode & 0o777).to.equal(0o600);
  });

  it('keeps a runtime change across a restart, laid over the config file', async () => {
    await daemon!.stop();
    daemon = await startDaemonProcess(config!.path, {}, config!.publicUrl);
    const shown = await cli('operator', ['config', 'get', '--json']);
    const answer = JSON.parse(shown.stdout) as {
      config: { policy: { autoPromote: boolean } };
      overrides: Array<{ key: string; by: string }>;
    };
    expect(answer.config.policy.autoPromote).to.equal(true);
    expect(answer.overrides.map((o) => [o.key, o.by])).to.deep.equal([['policy.autoPromote', 'admin1']]);
    expect(await readFile(config!.path, 'utf8')).to.contain('autoPromote: false');
  });
});
