// The operator's day from the terminal, with the real binaries: `hyperctl setup --user` brings a
// daemon up under a real `systemd --user` (a second run changes nothing), then `hyper-cli` logs in,
// stages with --wait, switches, shows status, rolls back and reads logs, each checked by what it
// prints and by what the proxy serves; hyperctl status, logs, doctor and restart on the host.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, readlink, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { Systemctl } from '../units/systemctl.js';
import { newCliHost, parseJson, type CliHost } from './cli-harness.js';
import { binPath } from '../harness/daemon-process.js';
import { createExampleRepo, exampleBackendDir } from '../harness/example-repo.js';
import { sharedUserManager, type SharedUserManager } from './harness/systemd-user.js';
import { waitFor } from './harness/wait.js';

const V1 = '26.11.27.0';
const V2 = '26.11.27.1';
/** A tag whose commit's VERSION says V2: the pipeline rejects it. */
const BAD = 'v26.11.27.9';
const PASSWORD = 'the first admin, 🔑';
const SCRIPT = '/usr/bin/script';

describe('cli: setup --user and the release story from the terminal (real binaries, real systemd --user)', function () {
  this.timeout(120_000);
  let manager: SharedUserManager;
  let host: CliHost;
  let systemctl: Systemctl;

  const version = async (origin = host.publicUrl): Promise<string> => (await fetch(`${origin}/version`)).text();
  const mainPid = async (): Promise<number | null> => (await systemctl.show(host.unit)).mainPid;

  before(async () => {
    manager = await sharedUserManager();
    systemctl = new Systemctl({ env: manager.env });
    host = await newCliHost('clirel', manager.env, async (dir) => {
      const repo = await createExampleRepo(dir);
      await repo.release(V1);
      await repo.release(V2);
      await promisify(execFile)('git', ['tag', BAD], { cwd: repo.path });
      return repo.path;
    });
  });

  after(async () => {
    await host?.teardown();
    await manager?.release();
  });

  it('setup --user on a clean folder writes config and user unit, starts the daemon, creates the admin', async () => {
    const ran = await host.hyperctl(host.setupArgs(), `${PASSWORD}\n`);
    expect(ran.code, ran.stderr + ran.stdout).to.equal(0);
    for (const step of ['config', 'folders', 'build', 'unit', 'enabled', 'daemon', 'admin']) {
      expect(ran.stdout, step).to.match(new RegExp(`^${step}\\s+changed`, 'm'));
    }
    // Here (no logind) lingering cannot be enabled: a warning with the fix, not a failure.
    expect(ran.stdout).to.match(/^lingering\s+(warning .*fix: run `loginctl enable-linger \S+`|ok|changed)/m);
    expect(ran.stdout).to.contain(`hyper-cli login --server ${host.publicUrl} --user admin`);
    const unit = await readFile(host.unitFile, 'utf8');
    expect(unit).to.contain(
      `ExecStart="${process.execPath}" ` +
        `"${path.join(host.root, 'hypervisor', 'current', 'bin', 'hypervisor.js')}" --config "${host.configPath}"`,
    );
    expect((await systemctl.show(host.unit)).activeState).to.equal('active');
    expect(await mainPid()).to.be.a('number');
    expect((await fetch(`${host.publicUrl}/hypervisor/healthz`)).status).to.equal(200);
    expect(await readlink(path.join(host.root, 'hypervisor', 'current'))).to.equal(
      path.resolve(exampleBackendDir(), '..', '..'),
    );
    expect(await readFile(host.configPath, 'utf8')).to.contain(`name: ${host.appName}`);
  });

  it('a second setup changes nothing: same files, same daemon process, no password asked for', async () => {
    const files = [host.unitFile, host.configPath, path.join(host.root, 'hypervisor', 'install.json')];
    const before = await Promise.all(
      files.map(async (f) => ({ text: await readFile(f, 'utf8'), mtime: (await stat(f)).mtimeMs })),
    );
    const pid = await mainPid();
    const ran = await host.hyperctl([...host.setupArgs(), '--json']);
    expect(ran.code, ran.stderr + ran.stdout).to.equal(0);
    const answer = parseJson<{ changed: boolean; steps: Array<{ step: string; status: string }> }>(ran, 'setup --json');
    expect(answer.changed).to.equal(false);
    expect(answer.steps.filter((s) => s.status === 'changed')).to.deep.equal([]);
    expect(answer.steps.map((s) => s.step)).to.include.members([
      'config',
      'folders',
      'build',
      'lingering',
      'unit',
      'enabled',
      'daemon',
      'admin',
    ]);
    const after = await Promise.all(
      files.map(async (f) => ({ text: await readFile(f, 'utf8'), mtime: (await stat(f)).mtimeMs })),
    );
    expect(after).to.deep.equal(before);
    expect(await mainPid()).to.equal(pid);
    const human = await host.hyperctl(host.setupArgs());
    expect(human.stdout).to.match(/^setup: nothing changed/m);
    expect(human.stdout).to.match(/^config\s+ok .*--root, .* shape only a new config/m);
  });

  it('hyper-cli login, then stage v1 --wait: steps clone, build, test, start, ready; the proxy serves v1', async () => {
    const login = await host.hyperCli(['login', '--user', 'admin', '--password-stdin'], PASSWORD);
    expect(login.code, login.stderr).to.equal(0);
    expect((await stat(path.join(host.dir, 'session.json'))).mode & 0o777).to.equal(0o600);
    const staged = await host.hyperCli(['stage', `v${V1}`, '--wait']);
    expect(staged.code, staged.stderr + staged.stdout).to.equal(0);
    const steps = staged.stdout
      .split('\n')
      .map((line) => /^(clone|build|test|start|ready)\s/.exec(line)?.[1])
      .filter(Boolean);
    expect(steps).to.deep.equal(['clone', 'build', 'test', 'start', 'ready']);
    expect(staged.stdout).to.match(new RegExp(`^staged v${V1} on blue`, 'm'));
    expect(staged.stdout).to.match(new RegExp(`v${V1} is Ready on blue and serving`));
    expect(await version()).to.equal(V1);
  });

  it('stage v2 --wait goes onto green while blue serves; switch moves traffic to green', async () => {
    const staged = await host.hyperCli(['stage', `v${V2}`, '--wait']);
    expect(staged.code, staged.stderr + staged.stdout).to.equal(0);
    expect(staged.stdout).to.match(/^ready\s+green runs/m);
    expect(staged.stdout).to.contain('hyper-cli switch --to green');
    expect(await version()).to.equal(V1);
    expect(await version(host.previewUrl)).to.equal(V2);
    const switched = await host.hyperCli(['switch']);
    expect(switched.code, switched.stderr).to.equal(0);
    expect(switched.stdout).to.match(/^traffic now goes to green \(revision \d+\)/);
    expect(await version()).to.equal(V2);
  });

  it('status prints both colors as a plain table (no colour codes off a terminal)', async () => {
    const shown = await host.hyperCli(['status']);
    expect(shown.code, shown.stderr).to.equal(0);
    expect(shown.stdout).to.match(new RegExp(`^\\*green\\s+Ready\\s+v${V2}\\s+v${V2}\\s+\\d+`, 'm'));
    expect(shown.stdout).to.match(new RegExp(`^ blue\\s+Ready\\s+v${V1}\\s+v${V1}`, 'm'));
    expect(shown.stdout).to.match(/^traffic\s+green/m);
    expect(shown.stdout).to.match(/^problems: none$/m);
    expect(shown.stdout).to.not.contain('\u001b[');
  });

  it('status on a terminal colours the phases (through script(1), a real pseudo-terminal)', async function () {
    if (!existsSync(SCRIPT)) this.skip(); // util-linux's script is what gives the CLI a terminal here
    const command = `${process.execPath} ${binPath('hyper-cli')} status`;
    const { stdout } = await promisify(execFile)(SCRIPT, ['-qec', command, '/dev/null'], {
      env: {
        ...process.env,
        HYPER_CLI_SESSION: path.join(host.dir, 'session.json'),
        HYPER_SERVER: host.publicUrl,
        NO_COLOR: undefined,
      },
      timeout: 30_000,
    });
    expect(stdout).to.contain('\u001b[32mReady');
  });

  it('rollback sends traffic back to blue; logs --test prints the test log of a release', async () => {
    const back = await host.hyperCli(['rollback']);
    expect(back.code, back.stderr).to.equal(0);
    expect(back.stdout).to.match(
      new RegExp(`^rolled back: traffic now goes to blue \\(v${V1}\\) from green \\(v${V2}\\) \\(revision \\d+\\)`),
    );
    expect(await version()).to.equal(V1);
    const testLog = await host.hyperCli(['logs', `v${V2}`, '--test']);
    expect(testLog.code, testLog.stderr).to.equal(0);
    expect(testLog.stdout).to.contain('TEST passed');
    const buildLog = await host.hyperCli(['logs', `v${V2}`]);
    expect(buildLog.stdout).to.match(new RegExp(`built .*${V2}`));
  });

  it('desired get, diff -f and apply -f: the YAML round-trips, a stale --if-revision is refused', async () => {
    const got = await host.hyperCli(['desired', 'get']);
    expect(got.code, got.stderr).to.equal(0);
    expect(got.stdout).to.match(/^active: blue$/m);
    const file = path.join(host.dir, 'desired.yaml');
    await writeFile(file, got.stdout.replace('active: blue', 'active: green'));
    const diff = await host.hyperCli(['desired', 'diff', '-f', file]);
    expect(diff.stdout).to.match(/^ {2}active: blue -> green$/m);
    const stale = await host.hyperCli(['desired', 'apply', '-f', file, '--if-revision', '1']);
    expect(stale.code, 'a stale revision is a conflict').to.equal(4);
    expect(await version()).to.equal(V1);
    const applied = await host.hyperCli(['desired', 'apply', '-f', file]);
    expect(applied.code, applied.stderr).to.equal(0);
    expect(applied.stdout).to.match(/^applied: desired state revision \d+/);
    await waitFor('the proxy on green', async () => ((await version()) === V2 ? true : null), 10_000);
    expect((await host.hyperCli(['switch', '--to', 'blue'])).code).to.equal(0);
    expect(await version()).to.equal(V1);
  });

  it('hyperctl status, logs and doctor describe the host; restart: a new daemon serves the same color', async () => {
    const shown = await host.hyperctl(['status']);
    expect(shown.code, shown.stderr).to.equal(0);
    expect(shown.stdout).to.match(
      new RegExp(`^unit\\s+${host.unit.replaceAll('.', '\\.')} \\(user\\) active, pid \\d+, build `, 'm'),
    );
    expect(shown.stdout).to.match(/^last reconcile \d{4}-/m);
    const daemonLog = await host.hyperctl(['logs', '-n', '50']);
    expect(daemonLog.stdout).to.match(/hypervisor \S+: public http:\/\/127\.0\.0\.1/);
    const blueLog = await host.hyperctl(['logs', '--color', 'blue']);
    expect(blueLog.stdout).to.contain(`version=${V1}`);
    const doctor = await host.hyperctl(['doctor']);
    expect(doctor.code, doctor.stdout).to.equal(0);
    for (const check of [
      'config',
      'daemon',
      'user manager',
      'lingering',
      'port listen.public',
      'port colors.blue.port',
      'store',
      'disk',
    ]) {
      expect(doctor.stdout, check).to.match(new RegExp(`^(ok|warn)\\s+${check}\\s`, 'm'));
    }
    const pid = await mainPid();
    const restarted = await host.hyperctl(['restart']);
    expect(restarted.code, restarted.stderr).to.equal(0);
    expect(restarted.stdout).to.match(
      new RegExp(`^restarted ${host.unit.replaceAll('.', '\\.')}: pid ${pid} -> \\d+, healthy after`),
    );
    expect(await mainPid()).to.not.equal(pid);
    await waitFor('blue routed again', async () => ((await version()) === V1 ? true : null), 10_000);
  });
});
