// GitOps end to end: a real config repo drives the host through the real `hypervisor` binary,
// the systemd driver and a real `systemd --user` of this test's own (so it can be "rebooted").
// Drift is made by hand, as an operator would by mistake, and must be seen and corrected.
import { expect } from 'chai';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { SimpleGit } from 'simple-git';
import type { StatusAnswer } from '../api/wire.js';
import { ApiClient } from '../cli/client.js';
import type { Color, EventRecord } from '../common/types.js';
import { Systemctl } from '../units/systemctl.js';
import { writeTestConfig } from './harness/daemon-config.js';
import { runBin, scratchDir, startDaemonProcess, type DaemonProcess } from '../harness/daemon-process.js';
import { createConfigRepo, type ConfigRepo } from './harness/config-repo.js';
import { createExampleRepo } from '../harness/example-repo.js';
import { startUserManager, type UserManager } from './harness/systemd-user.js';
import { waitFor, waitUntil } from './harness/wait.js';

const V1 = '26.11.27.0';
const V2 = '26.11.27.1';
const DOC = 'hypervisor/desired.yaml';
const desiredYaml = (active: Color, blue: string | null, green: string | null, paused = false): string =>
  `active: ${active}\ncolors:\n  blue: { tag: ${blue ?? 'null'} }\n  green: { tag: ` +
  `${green ?? 'null'} }\npaused: ${paused}\n`;

describe('gitops, drift and self-healing, end to end (real systemd, real git)', function () {
  this.timeout(240_000);
  let manager: UserManager;
  let scratch: { dir: string; remove(): Promise<void> };
  let daemon: DaemonProcess;
  let configPath: string;
  let publicUrl: string;
  let admin: ApiClient;
  let operator: SimpleGit;
  let configRepo: ConfigRepo;
  let appName: string;
  let systemctl: Systemctl;
  let bluePort: number;

  const status = (): Promise<StatusAnswer> => admin.get<StatusAnswer>('/status');
  const version = async (): Promise<string> => (await fetch(`${publicUrl}/version`)).text();
  const readyAt = (color: Color, tag: string) => async (): Promise<StatusAnswer | null> => {
    const s = await status();
    const c = s.status.colors?.[color];
    return c?.phase === 'Ready' && c.runningTag === tag ? s : null;
  };
  const events = async (): Promise<EventRecord[]> =>
    (await admin.get<{ events: EventRecord[] }>('/events?limit=500')).events;
  const eventAfter = (id: number, reason: string, color?: Color) => async (): Promise<EventRecord | null> =>
    (await events()).find((e) => e.id > id && e.reason === reason && (color === undefined || e.color === color)) ??
    null;
  const lastEventId = async (): Promise<number> => (await events()).at(-1)?.id ?? 0;
  const push = async (text: string, message: string): Promise<string> => {
    return configRepo.push(DOC, text, message);
  };
  const unitFile = (color: Color): string =>
    path.join(manager.env.XDG_CONFIG_HOME, 'systemd', 'user', `${appName}-${color}.service`);

  before(async () => {
    manager = await startUserManager();
    systemctl = new Systemctl({ env: manager.env });
    scratch = await scratchDir('hv-gitops-');
    const repo = await createExampleRepo(path.join(scratch.dir, 'backend'));
    await repo.release(V1);
    await repo.release(V2);
    configRepo = await createConfigRepo(scratch.dir);
    operator = configRepo.operator;
    await push(desiredYaml('blue', `v${V1}`, null), 'blue runs v1');
    const config = await writeTestConfig({
      appName: `gitops-${process.pid}`,
      dir: scratch.dir,
      repo: repo.path,
      driver: 'systemd',
      preview: true,
      extra: `desired:
  git: { url: ${configRepo.url}, branch: main, path: ${DOC}, interval: 500ms }
proxy: { drainTimeout: 2s }`,
    });
    ({ path: configPath, publicUrl, appName } = config);
    bluePort = config.ports.blue;
    daemon = await startDaemonProcess(configPath, manager.env, publicUrl);
    admin = new ApiClient({ socketPath: path.join(scratch.dir, 'admin.sock') });
  });

  after(async () => {
    await admin?.close();
    await daemon?.stop();
    await manager?.stop();
    await scratch?.remove();
  });

  it('runs what the config repo declares: blue at v1, revision from git@<sha> by the commit author', async () => {
    await waitFor('blue Ready at v1', readyAt('blue', `v${V1}`), 90_000);
    expect(await version()).to.equal(V1);
    const { revision } = await status();
    expect(revision!.source).to.match(/^git@[0-9a-f]{40}$/);
    expect(revision!.author).to.equal('Ana Operator <ana@example.invalid>');
  });

  it('a commit that changes colors.green.tag leads, with no other action, to green running it', async () => {
    await push(desiredYaml('blue', `v${V1}`, `v${V2}`), 'stage v2 on green');
    await waitFor('green Ready at v2', readyAt('green', `v${V2}`), 90_000);
    expect(await version()).to.equal(V1);
  });

  it('a commit that switches active moves traffic', async () => {
    await push(desiredYaml('green', `v${V1}`, `v${V2}`), 'switch to green');
    await waitFor('traffic on green', async () => (await version()) === V2 || null, 10_000);
  });

  it('a broken YAML commit changes nothing and is reported with its SHA', async () => {
    const before = (await status()).revision!.number;
    const sha = await push('active: blue\ncolors: [\n', 'broken');
    const condition = await waitFor(
      'the source error in status',
      async () => {
        const c = (await status()).status.conditions.find((x) => x.type === 'DesiredSourceValid');
        return c?.status === 'False' && c.message.includes(sha) ? c : null;
      },
      10_000,
    );
    expect(condition.message).to.match(/line/i);
    expect((await events()).some((e) => e.reason === 'DesiredRejected' && e.message.includes(sha))).to.equal(true);
    expect((await status()).revision!.number).to.equal(before);
    expect(await version()).to.equal(V2);
    await push(desiredYaml('green', `v${V1}`, `v${V2}`), 'fix');
    await waitFor(
      'the source valid again',
      async () =>
        (await status()).status.conditions.find((x) => x.type === 'DesiredSourceValid')?.status === 'True' || null,
      10_000,
    );
  });

  it('a unit file edited by hand is rewritten and reported', async () => {
    const mark = await lastEventId();
    const text = await readFile(unitFile('blue'), 'utf8');
    await writeFile(unitFile('blue'), text.replace('RestartSec=1', 'RestartSec=42'));
    const event = await waitFor('a Deployed event for blue', eventAfter(mark, 'Deployed', 'blue'), 10_000);
    expect(event.message).to.contain('edited by hand');
    expect(await readFile(unitFile('blue'), 'utf8')).to.equal(text);
    await waitFor('blue Ready again', readyAt('blue', `v${V1}`), 30_000);
  });

  it('a unit stopped by hand is started again and reported', async () => {
    const mark = await lastEventId();
    await systemctl.stop(`${appName}-blue.service`);
    await waitFor('a Started event for blue', eventAfter(mark, 'Started', 'blue'), 10_000);
    await waitFor('blue Ready again', readyAt('blue', `v${V1}`), 30_000);
  });

  it('a drop-in that makes blue answer another version (systemctl edit) is removed and corrected', async () => {
    const mark = await lastEventId();
    const unit = `${appName}-blue.service`;
    const v2 = path.join(scratch.dir, 'var', 'artifacts', `v${V2}`, V2);
    await mkdir(`${unitFile('blue')}.d`, { recursive: true });
    await writeFile(
      path.join(`${unitFile('blue')}.d`, 'override.conf'),
      `[Service]\nExecStart=\nExecStart=${v2} --deployment test --port ${bluePort} --env-root ` +
        `${path.join(scratch.dir, 'var', 'env')} --app-version ${V2}\n`,
    );
    await systemctl.daemonReload();
    await systemctl.restart(unit);
    const event = await waitFor('a Deployed event for blue', eventAfter(mark, 'Deployed', 'blue'), 15_000);
    expect(event.message).to.contain('drop-ins');
    await waitFor(
      'blue answering v1 on its own port again',
      async () =>
        (await fetch(`http://127.0.0.1:${bluePort}/version`).then(
          (r) => r.text(),
          () => '',
        )) === V1 || null,
      30_000,
    );
    await waitFor('blue Ready again', readyAt('blue', `v${V1}`), 30_000);
  });

  it('a missing artifact is rebuilt and reported', async () => {
    const mark = await lastEventId();
    await rm(path.join(scratch.dir, 'var', 'artifacts', `v${V1}`), { recursive: true, force: true });
    const queued = await waitFor('a BuildQueued event for v1', eventAfter(mark, 'BuildQueued'), 10_000);
    expect(queued.message).to.contain('artifact of v');
    await waitFor(
      'the artifact back',
      async () => await readFile(path.join(scratch.dir, 'var', 'artifacts', `v${V1}`, V1)).catch(() => null),
      60_000,
    );
    await waitFor('blue Ready again', readyAt('blue', `v${V1}`), 30_000);
  });

  it('paused: drift is reported and left alone; resumed: it is corrected', async () => {
    await push(desiredYaml('green', `v${V1}`, `v${V2}`, true), 'pause');
    await waitFor('paused', async () => (await status()).status.paused || null, 10_000);
    await systemctl.stop(`${appName}-blue.service`);
    const reported = await waitFor(
      'blue reported as stopped',
      async () => {
        const c = (await status()).status.colors!.blue;
        return c.unit.activeState === 'inactive' && c.phase === 'Starting' ? c : null;
      },
      10_000,
    );
    expect(reported.message).to.contain('inactive');
    // Three more passes (each stamps lastReconcileAt) see the drift and leave it alone.
    const passes = new Set<string | null>();
    const later = await waitUntil(
      async () => (await status()).status,
      (s) => passes.add(s.lastReconcileAt).size > 3 || s.colors!.blue.unit.activeState !== 'inactive',
      { what: 'three more passes', timeoutMs: 15_000 },
    );
    expect(later.colors!.blue.unit.activeState).to.equal('inactive');
    await push(desiredYaml('green', `v${V1}`, `v${V2}`), 'resume');
    await waitFor('blue Ready again', readyAt('blue', `v${V1}`), 30_000);
  });

  it('hyper-cli switch with a config repo produces a commit authored by the hyperuser', async () => {
    const socket = path.join(scratch.dir, 'admin.sock');
    const session = path.join(scratch.dir, 'session.json');
    const run = async (
      bin: 'hyperctl' | 'hyper-cli',
      args: string[],
      input = '',
    ): Promise<{ code: number; out: string }> => {
      const ran = await runBin(bin, args, { ...process.env, HYPER_CLI_SESSION: session }, input);
      return { code: ran.code, out: ran.stdout + ran.stderr };
    };
    expect(
      (await run('hyperctl', ['users', 'add', 'maria', '--role', 'operator', '--socket', socket], 'maria-password-1'))
        .code,
    ).to.equal(0);
    const login = await run(
      'hyper-cli',
      ['login', '--user', 'maria', '--password-stdin', '--server', publicUrl],
      'maria-password-1',
    );
    expect(login.code, login.out).to.equal(0);
    const switched = await run('hyper-cli', ['switch', '--to', 'blue', '--server', publicUrl]);
    expect(switched.code, switched.out).to.equal(0);
    await operator.pull('origin', 'main');
    const head = (await operator.log({ maxCount: 1 })).latest!;
    expect(head.author_name).to.equal('maria');
    expect(await readFile(path.join(configRepo.worktree, DOC), 'utf8')).to.match(/^active: blue/m);
    await waitFor('traffic on blue', async () => (await version()) === V1 || null, 10_000);
  });

  it('a color that stops answering its readiness probe is restarted (self-heal)', async () => {
    const mark = await lastEventId();
    const pid = (await status()).status.colors!.green.unit.mainPid!;
    process.kill(pid, 'SIGSTOP'); // alive, but answers nothing: only the probes can tell
    const restarted = await waitFor('a Restarted event for green', eventAfter(mark, 'Restarted', 'green'), 20_000);
    expect(restarted.message).to.match(/failed probes/);
    const healed = await waitFor(
      'green Ready with a new MainPID',
      async () => {
        const s = await readyAt('green', `v${V2}`)();
        return s && s.status.colors!.green.unit.mainPid !== pid ? s : null;
      },
      30_000,
    );
    expect(healed.status.colors!.green.phase).to.equal('Ready');
  });

  it('a unit that hit its start limit is reset and restarted', async () => {
    const mark = await lastEventId();
    const killed = new Set<number>();
    await waitFor(
      'green failed past its start limit',
      async () => {
        const s = await status();
        const unit = s.status.colors!.green.unit;
        if (unit.activeState === 'failed') return true;
        if (unit.mainPid !== null && !killed.has(unit.mainPid)) {
          killed.add(unit.mainPid);
          process.kill(unit.mainPid, 'SIGKILL');
        }
        return null;
      },
      60_000,
    );
    expect(killed.size).to.be.greaterThan(3);
    await waitFor('a Restarted event for green', eventAfter(mark, 'Restarted', 'green'), 20_000);
    await waitFor('green Ready again', readyAt('green', `v${V2}`), 30_000);
  });

  it('after a simulated host restart the same color serves again, with no manual step', async () => {
    const active = (await status()).status.active!;
    await daemon.stop();
    await manager.reboot();
    daemon = await startDaemonProcess(configPath, manager.env, publicUrl);
    await admin.close();
    admin = new ApiClient({ socketPath: path.join(scratch.dir, 'admin.sock') });
    await waitFor(`${active} serving again`, async () => (await status()).status.active === active || null, 60_000);
    expect(await version()).to.equal(active === 'blue' ? V1 : V2);
    const s = await status();
    expect(s.status.colors!.blue.phase).to.equal('Ready');
    expect(s.status.colors!.green.phase).to.equal('Ready');
  });
});
