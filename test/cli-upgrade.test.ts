// hyperctl upgrade against a throwaway "hypervisor repo": this repository's source tree in a
// temporary git repo, tagged v0.1.1, and a daemon broken on purpose (it never listens) tagged
// v0.1.2. The daemon runs from a unit that `hyperctl setup --user` installed under a real
// `systemd --user`; a color serves a release throughout. The builds are real (`npm run build`);
// only the test step is a quick command (--test-command), the suite's own run would take minutes.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { constants, existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, readlink, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { Systemctl } from '../units/systemctl.js';
import { newCliHost, parseJson, type CliHost } from './cli-harness.js';
import { createExampleRepo, exampleBackendDir } from '../harness/example-repo.js';
import { sharedUserManager, type SharedUserManager } from './harness/systemd-user.js';

const run = promisify(execFile);
const V1 = '26.11.29.0';
const PASSWORD = 'upgrade test password';
const QUICK_TEST = 'node -e "process.exit(0)"';
const PACKAGE_ROOT = path.resolve(exampleBackendDir(), '..', '..');

/**
 * This repository's source tree as the tests were built from it (tracked and new files, not what
 * .gitignore leaves out) in a new git repo: v0.1.1 as it is, v0.1.2 with a daemon that never listens.
 */
async function createHypervisorRepo(dir: string): Promise<string> {
  const { stdout } = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: PACKAGE_ROOT,
    maxBuffer: 16 * 1024 * 1024,
  });
  const files = stdout.split('\0').filter((f) => f && existsSync(path.join(PACKAGE_ROOT, f)));
  for (const file of files) {
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await copyFile(path.join(PACKAGE_ROOT, file), path.join(dir, file), constants.COPYFILE_FICLONE);
    await chmod(path.join(dir, file), (await stat(path.join(PACKAGE_ROOT, file))).mode & 0o777);
  }
  const git = (...args: string[]): Promise<unknown> =>
    run('git', ['-c', 'user.name=Upgrade Test', '-c', 'user.email=upgrade@example.invalid', ...args], { cwd: dir });
  await git('init', '--quiet', '--initial-branch=main');
  await git('add', '--all');
  await git('commit', '--quiet', '-m', 'the hypervisor');
  await git('tag', 'v0.1.1');
  await writeFile(
    path.join(dir, 'daemon', 'main.ts'),
    [
      '// Broken on purpose (test/cli-upgrade.test.ts): it runs, but never listens, so healthz never answers.',
      "console.log('hypervisor (broken build): not listening, on purpose');",
      'setInterval(() => undefined, 60_000);',
      '',
    ].join('\n'),
  );
  await git('commit', '--quiet', '--all', '-m', 'a daemon that never becomes healthy');
  await git('tag', 'v0.1.2');
  return dir;
}

describe('cli: hyperctl upgrade builds beside the running build, swaps, goes back if unhealthy', function () {
  this.timeout(180_000);
  let manager: SharedUserManager;
  let host: CliHost;
  let systemctl: Systemctl;
  let hyperRepo: string;

  const layout = (name: string): string => path.join(host.root, 'hypervisor', name);
  const mainPid = async (): Promise<number | null> => (await systemctl.show(host.unit)).mainPid;
  const serves = async (): Promise<string> => (await fetch(`${host.publicUrl}/version`)).text();
  const upgrade = (...args: string[]): ReturnType<CliHost['hyperctl']> =>
    host.hyperctl(['upgrade', '--repo', hyperRepo, ...args]);

  before(async () => {
    manager = await sharedUserManager();
    systemctl = new Systemctl({ env: manager.env });
    host = await newCliHost('cliup', manager.env, async (dir) => {
      const repo = await createExampleRepo(dir);
      await repo.release(V1);
      return repo.path;
    });
    hyperRepo = await createHypervisorRepo(path.join(host.dir, 'hypervisor-repo'));
    const setup = await host.hyperctl(host.setupArgs(), PASSWORD);
    expect(setup.code, setup.stderr + setup.stdout).to.equal(0);
    expect((await host.hyperCli(['login', '--user', 'admin', '--password-stdin'], PASSWORD)).code).to.equal(0);
    const staged = await host.hyperCli(['stage', `v${V1}`, '--wait']);
    expect(staged.code, staged.stderr + staged.stdout).to.equal(0);
    expect(await serves()).to.equal(V1);
  });

  after(async () => {
    await host?.hyperCli(['logout']);
    await host?.teardown();
    await manager?.release();
  });

  it('a build whose tests fail changes nothing', async () => {
    const pid = await mainPid();
    const ran = await upgrade('--to', 'v0.1.1', '--test-command', 'false');
    expect(ran.code, ran.stdout + ran.stderr).to.equal(1);
    expect(ran.stderr).to.match(/test: `false` exited with 1/);
    expect(ran.stderr).to.match(/nothing was changed/);
    expect(await readlink(layout('current'))).to.equal(PACKAGE_ROOT);
    expect(await readdir(layout('builds'))).to.deep.equal([]);
    expect(await mainPid()).to.equal(pid);
  });

  it('a good tag: built in builds/<tag>, current swapped, daemon restarted, healthy, color served', async () => {
    const pid = await mainPid();
    const ran = await upgrade('--to', 'v0.1.1', '--test-command', QUICK_TEST, '--json');
    expect(ran.code, ran.stdout + ran.stderr).to.equal(0);
    expect(parseJson(ran, 'upgrade --json')).to.include({
      changed: true,
      tag: 'v0.1.1',
      build: layout('builds/v0.1.1'),
      previous: PACKAGE_ROOT,
    });
    expect(ran.stderr, 'progress goes to stderr under --json').to.match(/^build\s+npm run build passed/m);
    expect(await readlink(layout('current'))).to.equal(layout('builds/v0.1.1'));
    expect(await readlink(layout('previous'))).to.equal(PACKAGE_ROOT);
    expect(existsSync(layout('builds/v0.1.1/dist/daemon/main.js'))).to.equal(true);
    expect(await mainPid()).to.not.equal(pid);
    const status = await host.hyperctl(['status']);
    expect(status.code, status.stderr).to.equal(0);
    expect(status.stdout).to.contain(`build ${layout('builds/v0.1.1')}`);
    expect(await serves()).to.equal(V1);
  });

  it('upgrading to a daemon that fails health checks ends on the previous build, healthy, still serving', async () => {
    const ran = await upgrade('--test-command', QUICK_TEST, '--timeout', '8s'); // the newest tag: v0.1.2
    expect(ran.code, ran.stdout + ran.stderr).to.equal(1);
    expect(ran.stdout).to.match(/^swap: .*builds\/v0\.1\.2; restarting/m);
    expect(ran.stderr).to.contain('the daemon of v0.1.2 did not become healthy');
    expect(ran.stderr).to.contain('not listening, on purpose');
    expect(ran.stderr).to.match(/rolled back: the daemon runs .*builds\/v0\.1\.1 again and is healthy/);
    expect(await readlink(layout('current'))).to.equal(layout('builds/v0.1.1'));
    expect(existsSync(layout('builds/v0.1.2')), 'the failed build is removed, so a retry builds it afresh').to.equal(
      false,
    );
    expect((await fetch(`${host.publicUrl}/hypervisor/healthz`)).status).to.equal(200);
    expect(await serves()).to.equal(V1);
    expect((await host.hyperCli(['status'])).code).to.equal(0);
  });

  it('upgrading to the tag already running changes nothing', async () => {
    const pid = await mainPid();
    const ran = await upgrade('--to', 'v0.1.1');
    expect(ran.code, ran.stderr).to.equal(0);
    expect(ran.stdout).to.match(/^already on v0\.1\.1: nothing changed/);
    expect(await mainPid()).to.equal(pid);
  });
});
