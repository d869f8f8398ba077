// The walking skeleton end to end, as an operator drives it: the real `hypervisor` binary with the
// systemd driver against a real `systemd --user`, the example backend in a real git repo, real
// sockets, and the real `hyper-cli` / `hyperctl` binaries.
import { expect } from 'chai';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { StatusAnswer } from '../api/wire.js';
import type { Color, Deployment } from '../common/types.js';
import { writeTestConfig } from './harness/daemon-config.js';
import { runBin, scratchDir, startDaemonProcess, type DaemonProcess, type Ran } from '../harness/daemon-process.js';
import { createExampleRepo } from '../harness/example-repo.js';
import { startLoad } from './harness/load.js';
import { sharedUserManager, type SharedUserManager } from './harness/systemd-user.js';
import { loginOperator } from './harness/operator.js';
import { waitFor, waitUntil } from './harness/wait.js';

const V1 = '26.11.27.0';
const V2 = '26.11.27.1';
const V3 = '26.11.27.2';
/** No such tag in the repo, and no release of it. */
const UNKNOWN = 'v26.11.27.9';

describe('walking skeleton, end to end (real systemd user manager)', function () {
  this.timeout(180_000);
  let manager: SharedUserManager;
  let scratch: { dir: string; remove(): Promise<void> };
  let daemon: DaemonProcess;
  let configPath: string;
  let publicUrl: string;
  let previewUrl: string;
  let adminSocket: string;
  let sessionFile: string;
  let token: string;
  const OPERATOR = 'e2e-operator';
  const PASSWORD = 'an operator\u0000password 🔐';

  const api = async <T>(
    method: string,
    route: string,
    body?: string,
    type = 'application/json',
  ): Promise<{ status: number; json: T }> => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body !== undefined) headers['content-type'] = type;
    const response = await fetch(`${publicUrl}/hypervisor${route}`, { method, body, headers });
    return { status: response.status, json: (await response.json()) as T };
  };
  const status = async (): Promise<StatusAnswer> => (await api<StatusAnswer>('GET', '/status')).json;
  const version = async (origin = publicUrl): Promise<string> => (await fetch(`${origin}/version`)).text();
  const readyColor = (color: Color, tag: string) => async () => {
    const s = await status();
    const c = s.status.colors?.[color];
    return c?.phase === 'Ready' && c.runningTag === tag ? s : null;
  };
  /**
   * Runs a CLI as an operator would, stdin piped (a password, or nothing), hyper-cli's session in the
   * scratch folder.
   */
  const cli = (bin: 'hyper-cli' | 'hyperctl', args: string[], input = ''): Promise<Ran> =>
    runBin(bin, args, { ...process.env, HYPER_CLI_SESSION: sessionFile }, input);

  before(async () => {
    manager = await sharedUserManager();
    scratch = await scratchDir('hv-e2e-');
    const repo = await createExampleRepo(path.join(scratch.dir, 'backend'));
    await repo.release(V1);
    await repo.release(V2);
    await repo.release(V3);
    const config = await writeTestConfig({
      appName: `e2e-${process.pid}`,
      dir: scratch.dir,
      repo: repo.path,
      driver: 'systemd',
      preview: true,
      scriptTimeouts: { build: '2m', test: '2m' },
      extra: 'proxy: { drainTimeout: 5s }',
    });
    ({ path: configPath, publicUrl, socket: adminSocket } = config);
    previewUrl = config.previewUrl!;
    daemon = await startDaemonProcess(configPath, manager.env, publicUrl);
    sessionFile = path.join(scratch.dir, 'hyper-cli-session.json');
    token = await loginOperator({
      socket: adminSocket,
      publicUrl,
      sessionFile,
      username: OPERATOR,
      password: PASSWORD,
    });
  });

  after(async () => {
    await daemon?.stop();
    await manager?.release();
    await scratch?.remove();
  });

  it('answers 503 with Retry-After and a JSON body while no color is Ready', async () => {
    const response = await fetch(`${publicUrl}/anything`);
    expect(response.status).to.equal(503);
    expect(response.headers.get('retry-after')).to.match(/^\d+$/);
    expect(((await response.json()) as { error: { code: string } }).error.code).to.be.a('string');
  });

  it('logs an operator in with hyper-cli: the token is cached in a 0600 file and names the operator', async () => {
    expect((await stat(sessionFile)).mode & 0o777).to.equal(0o600);
    const me = await cli('hyper-cli', ['whoami', '--server', publicUrl, '--json']);
    expect(me.code, me.stderr).to.equal(0);
    expect(JSON.parse(me.stdout)).to.deep.include({ username: OPERATOR, roles: ['operator'] });
    const anonymous = await fetch(`${publicUrl}/hypervisor/status`);
    expect(anonymous.status).to.equal(401);
  });

  it('builds, tests and starts blue from desired {blue: v1, active: blue}, and proxies to it', async () => {
    const put = await api('PUT', '/desired', `active: blue\ncolors:\n  blue: { tag: v${V1} }\n`, 'application/yaml');
    expect(put.status).to.equal(201);
    await waitFor('blue Ready at v1', readyColor('blue', `v${V1}`), 90_000);
    expect(await version()).to.equal(V1);
    const s = await status();
    expect(s.status.active).to.equal('blue');
    expect(s.status.colors!.blue.unit.activeState).to.equal('active');
  });

  it('refuses bad desired states with a clear message and keeps the revision', async () => {
    const before = (await status()).revision!.number;
    const bad: Array<[string, RegExp]> = [
      ['active: blue\ncolors:\n  purple: { tag: v1 }\n', /purple/],
      ['active: blue\ncolors:\n  blue: { tag: "v1;x" }\n', /colors\.blue\.tag/],
      ['active: green\ncolors:\n  blue: { tag: v26.11.27.0 }\n', /active/],
      ['active: blue\ncolors: [\n', /YAML|line/i],
      ['active: blue\ncolours: {}\n', /colours/],
    ];
    for (const [doc, message] of bad) {
      const answer = await api<{ error: { code: string; message: string } }>(
        'PUT',
        '/desired',
        doc,
        'application/yaml',
      );
      expect(answer.status, doc).to.equal(400);
      expect(answer.json.error.message).to.match(message);
    }
    expect((await status()).revision!.number).to.equal(before);
  });

  it('stages v2 on green with hyper-cli while blue keeps serving, and previews green', async () => {
    const staged = await cli('hyper-cli', ['stage', `v${V2}`, '--server', publicUrl, '--json']);
    expect(staged.code, staged.stderr + staged.stdout).to.equal(0);
    expect(JSON.parse(staged.stdout).revision.doc.colors.green.tag).to.equal(`v${V2}`);
    const seen = new Set<string>();
    await waitFor(
      'green Ready at v2',
      async () => {
        seen.add(await version());
        return readyColor('green', `v${V2}`)();
      },
      90_000,
    );
    expect([...seen]).to.deep.equal([V1]);
    expect(await version(previewUrl)).to.equal(V2);
    expect((await fetch(`${previewUrl}/hypervisor/healthz`)).status, 'no API on the preview listener').to.equal(404);
  });

  it('refuses to stage an unknown tag: 404 naming the newest tags, exit 2, revision and green unchanged', async () => {
    const before = await status();
    const green = before.status.colors!.green;
    const staged = await cli('hyper-cli', ['stage', UNKNOWN, '--server', publicUrl]);
    expect(staged.code, staged.stderr + staged.stdout).to.equal(2);
    expect(staged.stderr).to.contain(`no tag ${UNKNOWN}`).and.to.contain(`v${V3}, v${V2}, v${V1}`);
    const answer = await api<{ error: { code: string; details: { tag: string; newest: string[] } } }>(
      'POST',
      '/stage',
      JSON.stringify({ tag: UNKNOWN, color: 'green' }),
    );
    expect(answer.status).to.equal(404);
    expect(answer.json.error.code).to.equal('unknown_tag');
    expect(answer.json.error.details).to.deep.equal({ tag: UNKNOWN, newest: [`v${V3}`, `v${V2}`, `v${V1}`] });
    const after = await status();
    expect(after.revision).to.deep.equal(before.revision);
    expect(after.status.colors!.green).to.deep.include({ phase: 'Ready', runningTag: `v${V2}`, desiredTag: `v${V2}` });
    expect(after.status.colors!.green.unit.mainPid, 'green was not restarted').to.equal(green.unit.mainPid);
    expect(await version(previewUrl)).to.equal(V2);
  });

  it('switches with hyper-cli: the proxy then returns v2 and blue stays warm', async () => {
    const switched = await cli('hyper-cli', ['switch', '--server', publicUrl]);
    expect(switched.code, switched.stderr).to.equal(0);
    expect(switched.stdout).to.contain('green');
    expect(await version()).to.equal(V2);
    const s = await status();
    expect(s.status.colors!.blue.phase).to.equal('Ready');
    expect(await version(previewUrl)).to.equal(V1);
  });

  it('loses no request under load (64 connections) across 20 switches', async () => {
    const load = startLoad({ origin: publicUrl, connections: 64, durationMs: 60_000, maxRequests: 400_000 });
    try {
      for (let i = 0; i < 20; i++) {
        const to = i % 2 === 0 ? 'blue' : 'green';
        const answer = await api<{ active: string }>('POST', '/switch', JSON.stringify({ to }));
        expect(answer.status, JSON.stringify(answer.json)).to.be.oneOf([200, 201]);
        expect(answer.json.active).to.equal(to);
        // Each switch is crossed by load: some answers come from the color switched to before the next one.
        const version = to === 'blue' ? V1 : V2;
        const before = load.progress.bodies.get(version) ?? 0;
        await waitUntil(
          async () => load.progress.bodies.get(version) ?? 0,
          (served) => served >= before + 64,
          { what: `answers from ${to} after switch ${i + 1}`, intervalMs: 10 },
        );
      }
    } finally {
      load.stop();
    }
    const result = await load.done;
    expect(result.failed, result.failures.join('\n')).to.equal(0);
    expect(result.ok).to.be.greaterThan(100);
    expect([...result.bodies.keys()].sort()).to.deep.equal([V1, V2]);
  });

  it('kill -9 of the active MainPID: systemd restarts it and status returns to Ready', async () => {
    const s = await status();
    const active = s.status.active!;
    const pid = s.status.colors![active].unit.mainPid!;
    const restarts = s.status.colors![active].unit.nRestarts;
    process.kill(pid, 'SIGKILL');
    const healed = await waitFor(
      'a new MainPID, Ready',
      async () => {
        const now = await status();
        const c = now.status.colors![active];
        return c.unit.mainPid !== pid && c.unit.mainPid !== null && c.phase === 'Ready' ? c : null;
      },
      30_000,
    );
    expect(healed.unit.nRestarts).to.be.greaterThan(restarts);
  });

  it('hyperctl reads status and runs a pass through the admin socket', async () => {
    const shown = await cli('hyperctl', ['status', '--socket', adminSocket, '--json']);
    expect(shown.code, shown.stderr).to.equal(0);
    expect(JSON.parse(shown.stdout).status.colors.blue.phase).to.equal('Ready');
    const pass = await cli('hyperctl', ['reconcile', '--socket', adminSocket]);
    expect(pass.code, pass.stderr).to.equal(0);
    expect(pass.stdout).to.contain('nothing to do');
  });

  it('after a daemon restart proxies the same color again without restarting either backend', async () => {
    const before = await status();
    const pids = { blue: before.status.colors!.blue.unit.mainPid, green: before.status.colors!.green.unit.mainPid };
    const active = before.status.active!;
    await daemon.stop();
    daemon = await startDaemonProcess(configPath, manager.env, publicUrl);
    const after = await waitFor(
      'the same active color routed again',
      async () => {
        const s = await status();
        return s.status.active === active ? s : null;
      },
      30_000,
    );
    expect(after.status.colors!.blue.unit.mainPid).to.equal(pids.blue);
    expect(after.status.colors!.green.unit.mainPid).to.equal(pids.green);
    expect(await version()).to.equal(active === 'blue' ? V1 : V2);
  });

  it('records what served: one entry per switch, none for a daemon restart, hyper-cli history lists it', async () => {
    const { deployments } = (await api<{ deployments: Deployment[] }>('GET', '/deployments')).json;
    // blue from the first desired state, the switch with hyper-cli, then the 20 switches under load.
    expect(deployments).to.have.length(22);
    const [serving, previous] = deployments;
    expect(serving).to.deep.include({
      color: 'green',
      tag: `v${V2}`,
      version: V2,
      switchedBy: OPERATOR,
      endedAt: null,
    });
    expect(previous).to.deep.include({ color: 'blue', tag: `v${V1}`, endReason: 'switched' });
    expect(deployments.slice(1).every((d) => d.endedAt !== null && d.endReason === 'switched')).to.equal(true);
    const listed = await cli('hyper-cli', ['history', '--server', publicUrl]);
    expect(listed.code, listed.stderr).to.equal(0);
    expect(listed.stdout.split('\n')[1]).to.match(
      new RegExp(`^v${V2}\\s+green\\s+${OPERATOR}\\s+\\S+\\s+-\\s+serving$`),
    );
  });

  it('refuses to roll back to blue once it runs a newer tag: 409 naming both tags, green keeps traffic', async () => {
    expect((await status()).status.active).to.equal('green');
    const staged = await cli('hyper-cli', ['stage', `v${V3}`, '--wait', '--server', publicUrl]);
    expect(staged.code, staged.stderr + staged.stdout).to.equal(0);
    expect(staged.stdout).to.match(new RegExp(`^staged v${V3} on blue`, 'm'));
    const before = (await status()).revision!;
    const refused = await cli('hyper-cli', ['rollback', '--server', publicUrl]);
    expect(refused.code, refused.stdout + refused.stderr).to.equal(4);
    expect(refused.stderr).to.contain(
      `blue now runs v${V3}; it ran v${V1} when it last served. Traffic stays on green (v${V2}). ` +
        `To go back to v${V1}: hyper-cli stage v${V1} --color blue, then hyper-cli switch --to blue`,
    );
    const answer = await api<{ error: { code: string; details: object } }>('POST', '/rollback', '{}');
    expect(answer.status).to.equal(409);
    expect(answer.json.error).to.deep.include({
      code: 'rollback_target_changed',
      details: { color: 'blue', servedTag: `v${V1}`, nowTag: `v${V3}` },
    });
    expect((await status()).revision).to.deep.equal(before);
    expect(await version()).to.equal(V2);
    expect(await version(previewUrl)).to.equal(V3);
  });
});
