// The conventions every command keeps, checked on the real binaries against a daemon that
// `hyperctl setup --user` brought up: --help with examples, --json that parses (answers and errors
// alike, streams line by line), and the exit codes of the README's table.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { newCliHost, parseJson, runBin, type CliHost, type Ran } from './cli-harness.js';
import { createExampleRepo } from '../harness/example-repo.js';
import { sharedUserManager, type SharedUserManager } from './harness/systemd-user.js';

const V1 = '26.11.28.0';
const V2 = '26.11.28.1';
const BAD = 'v26.11.28.7';
const PASSWORD = 'conventions password';

const HYPER_CLI_VERBS = [
  'login',
  'logout',
  'whoami',
  'status',
  'releases',
  'logs',
  'stage',
  'switch',
  'rollback',
  'desired',
  'plan',
  'events',
  'pause',
  'resume',
  'history',
];
const HYPERCTL_VERBS = [
  'setup',
  'upgrade',
  'restart',
  'status',
  'logs',
  'reconcile',
  'doctor',
  'users',
  'backup',
  'restore',
];

describe('cli: --help, --json and exit codes of every command (real binaries, real daemon)', function () {
  this.timeout(120_000);
  let manager: SharedUserManager;
  let host: CliHost;
  let viewerSession: string;

  before(async () => {
    manager = await sharedUserManager();
    host = await newCliHost('cliconv', manager.env, async (dir) => {
      const repo = await createExampleRepo(dir);
      await repo.release(V1);
      await repo.release(V2);
      await promisify(execFile)('git', ['tag', BAD], { cwd: repo.path });
      return repo.path;
    });
    const setup = await host.hyperctl(host.setupArgs(), PASSWORD);
    expect(setup.code, setup.stderr + setup.stdout).to.equal(0);
    viewerSession = path.join(host.dir, 'viewer-session.json');
  });

  after(async () => {
    await host?.teardown();
    await manager?.release();
  });

  /** Runs with --json; the output must be one JSON document whatever the exit code. */
  const json = async (run: Promise<Ran>, what: string, code = 0): Promise<Record<string, unknown>> => {
    const ran = await run;
    const parsed = parseJson(ran, what);
    expect(ran.code, `${what}: ${ran.stdout}${ran.stderr}`).to.equal(code);
    if (code !== 0) expect(parsed).to.have.nested.property('error.code').that.is.a('string');
    return parsed;
  };

  it('--help of every command exits 0 and shows examples', async () => {
    const env = { ...process.env, ...manager.env };
    const commands = [
      ...HYPER_CLI_VERBS.map((v) => ['hyper-cli', v] as const),
      ...HYPERCTL_VERBS.map((v) => ['hyperctl', v] as const),
    ];
    const runs = await Promise.all(commands.map(([bin, verb]) => runBin(bin, [verb, '--help'], env)));
    runs.forEach((ran, i) => {
      const what = commands[i]!.join(' ');
      expect(ran.code, what).to.equal(0);
      expect(ran.stdout, what).to.match(/Examples:\n.*\S/);
      expect(ran.stdout, what).to.contain('--json');
    });
  });

  it('--json output of every hyper-cli command parses', async () => {
    await json(host.hyperCli(['login', '--user', 'admin', '--password-stdin', '--json'], PASSWORD), 'login');
    const staged = await json(host.hyperCli(['stage', `v${V1}`, '--wait', '--json']), 'stage --wait');
    expect(staged).to.include({ ready: true, color: 'blue' });
    expect((staged.steps as Array<{ step: string }>).map((s) => s.step)).to.deep.equal([
      'clone',
      'build',
      'test',
      'start',
      'ready',
    ]);
    expect(await json(host.hyperCli(['whoami', '--json']), 'whoami')).to.include({ username: 'admin' });
    expect(await json(host.hyperCli(['status', '--json']), 'status')).to.have.nested.property(
      'status.colors.blue.phase',
      'Ready',
    );
    expect(await json(host.hyperCli(['releases', '--json']), 'releases')).to.be.an('array');
    expect(await json(host.hyperCli(['logs', `v${V1}`, '--json']), 'logs')).to.include({
      tag: `v${V1}`,
      kind: 'build',
    });
    expect((await json(host.hyperCli(['logs', `v${V1}`, '--test', '--json']), 'logs --test')).lines).to.include(
      'TEST passed',
    );
    await json(host.hyperCli(['stage', `v${V1}`, '--color', 'blue', '--json']), 'stage');
    await json(host.hyperCli(['switch', '--to', 'blue', '--json']), 'switch');
    await json(host.hyperCli(['plan', '--json']), 'plan');
    expect(await json(host.hyperCli(['events', '--json']), 'events')).to.be.an('array');
    expect(await json(host.hyperCli(['history', '--json']), 'history')).to.have.nested.property(
      'deployments[0].color',
      'blue',
    );
    expect(await json(host.hyperCli(['pause', '--json']), 'pause')).to.include({ changed: true });
    expect(await json(host.hyperCli(['resume', '--json']), 'resume')).to.include({ changed: true });
    const desired = await json(host.hyperCli(['desired', 'get', '--json']), 'desired get');
    const file = path.join(host.dir, 'desired.json');
    await writeFile(file, JSON.stringify((desired as { doc: unknown }).doc));
    expect(await json(host.hyperCli(['desired', 'diff', '-f', file, '--json']), 'desired diff')).to.include({
      differs: false,
    });
    expect(await json(host.hyperCli(['desired', 'apply', '-f', file, '--json']), 'desired apply')).to.include({
      changed: false,
    });
    // A stream: one JSON object per line, until it is stopped.
    const followed = await runBin(
      'hyper-cli',
      ['events', '--follow', '--json'],
      { ...process.env, HYPER_CLI_SESSION: path.join(host.dir, 'session.json'), HYPER_SERVER: host.publicUrl },
      '',
      2_000,
    );
    const lines = followed.stdout.split('\n').filter(Boolean);
    expect(lines.length).to.be.greaterThan(0);
    for (const line of lines) expect(JSON.parse(line)).to.have.property('reason');
  });

  it('--json output of every hyperctl command parses', async () => {
    expect(await json(host.hyperctl(['status', '--json']), 'status'))
      .to.have.property('problems')
      .that.is.an('array');
    await json(host.hyperctl(['reconcile', '--json']), 'reconcile');
    await json(host.hyperctl(['users', 'add', 'vera', '--role', 'viewer', '--json'], PASSWORD), 'users add');
    expect(await json(host.hyperctl(['users', 'list', '--json']), 'users list')).to.have.length(2);
    expect(await json(host.hyperctl(['doctor', '--json']), 'doctor')).to.include({ ok: true });
    expect(await json(host.hyperctl(['logs', '--json']), 'logs'))
      .to.have.property('lines')
      .that.is.an('array');
    expect(await json(host.hyperctl(['logs', '--color', 'blue', '--json']), 'logs --color'))
      .to.have.property('file')
      .that.match(/blue\.log$/);
    expect(await json(host.hyperctl([...host.setupArgs(), '--json']), 'setup')).to.include({ changed: false });
    expect(await json(host.hyperctl(['restart', '--json']), 'restart'))
      .to.have.property('pid')
      .that.is.a('number');
    await json(host.hyperctl(['users', 'remove', 'nobody', '--json']), 'users remove (missing)', 2);
  });

  it('exit 2: usage errors say what is wrong', async () => {
    const usage: Array<[Promise<Ran>, RegExp]> = [
      [host.hyperCli(['stage']), /missing required args/],
      [host.hyperCli(['switch', '--to', 'purple']), /--to must be blue or green/],
      [host.hyperCli(['status', '--bogus']), /Unknown option `--bogus`/],
      [host.hyperCli(['desired', 'apply']), /needs -f FILE/],
      [host.hyperCli(['desired', 'frob']), /get, apply -f FILE or diff -f FILE/],
      [host.hyperCli(['stage', `v${V2}`, '--wait', '--timeout', 'soon']), /--timeout must be a duration/],
      [host.hyperCli(['frobnicate']), /unknown command "frobnicate"/],
      [host.hyperctl(['users', 'add', 'x']), /--role/],
      [host.hyperctl(['logs', '--color', 'purple']), /--color must be blue or green/],
      [host.hyperctl(['upgrade', '--to', '../x']), /--to must be a tag name/],
    ];
    for (const [run, message] of usage) {
      const ran = await run;
      expect(ran.code, ran.stdout + ran.stderr).to.equal(2);
      expect(ran.stderr).to.match(message);
    }
  });

  it('exit 3: not logged in, or lacking the role', async () => {
    const viewer = await host.hyperCli(['login', '--user', 'vera', '--password-stdin'], PASSWORD, viewerSession);
    expect(viewer.code, viewer.stderr).to.equal(0);
    expect((await host.hyperCli(['status'], '', viewerSession)).code, 'a viewer may look').to.equal(0);
    const forbidden = await host.hyperCli(['switch', '--to', 'blue'], '', viewerSession);
    expect(forbidden.code).to.equal(3);
    expect(forbidden.stderr).to.match(/operator/);
    expect((await host.hyperCli(['logout'], '', viewerSession)).code).to.equal(0);
    const out = await host.hyperCli(['status'], '', viewerSession);
    expect(out.code).to.equal(3);
    expect(out.stderr).to.contain('hyper-cli login');
  });

  it('exit 4: not ready or a conflict; exit 1: a failed release or an unreachable daemon', async () => {
    const notReady = await host.hyperCli(['switch', '--to', 'green']);
    expect(notReady.code, notReady.stdout + notReady.stderr).to.equal(4);
    expect(notReady.stderr).to.match(/green is not Ready/);
    const nothingToRollBack = await host.hyperCli(['rollback']);
    expect(nothingToRollBack.code).to.equal(4);
    const stale = await host.hyperCli([
      'desired',
      'apply',
      '-f',
      path.join(host.dir, 'desired.json'),
      '--if-revision',
      '1',
    ]);
    expect(stale.code).to.equal(4);
    const timedOut = await host.hyperCli(['stage', `v${V2}`, '--wait', '--timeout', '1ms']);
    expect(timedOut.code, timedOut.stdout + timedOut.stderr).to.equal(4);
    expect(timedOut.stderr).to.match(/is not Ready on green after .* hyper-cli status/);
    const failed = await host.hyperCli(['stage', BAD, '--color', 'green', '--wait']);
    expect(failed.code, failed.stdout + failed.stderr).to.equal(1);
    expect(failed.stderr).to.match(new RegExp(`${BAD} rejected: VERSION at ${BAD}`));
    const again = await host.hyperCli(['stage', BAD, '--color', 'green']);
    expect(again.code, 'a rejected release is not staged again').to.equal(4);
    expect(again.stderr).to.match(new RegExp(`release ${BAD} rejected: VERSION at ${BAD}`));
    const unreachable = await host.hyperctl(['status', '--socket', path.join(host.dir, 'no.sock')]);
    expect(unreachable.code).to.equal(1);
    expect(unreachable.stderr).to.match(/cannot reach the hypervisor .*hyperctl doctor/);
    expect((await host.hyperCli(['logout'])).code).to.equal(0);
  });
});
