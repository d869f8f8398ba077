// The one supervisor (common/supervisor.ts) on its own, with real processes: how a command's end is
// reported, and that a timeout or a cancellation ends everything it started; then its other user,
// the host's build for `hyperctl upgrade`, cancelled mid-step.
import { expect } from 'chai';
import { randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { environSweep } from '../common/containment.js';
import { supervise, type SuperviseSpec, type Supervised } from '../common/supervisor.js';
import { buildTag, DaemonBuildError } from '../host/daemon-build.js';
import { createExampleRepo } from '../harness/example-repo.js';
import { processesMatching } from './harness/processes.js';
import { waitFor } from './harness/wait.js';

function needle(): string {
  return `sleep 1000.${randomInt(100_000, 999_999)}`;
}

async function run(
  script: string,
  overrides: Partial<SuperviseSpec> = {},
): Promise<{ outcome: Supervised; output: string; notes: string[] }> {
  let output = '';
  const notes: string[] = [];
  const outcome = await supervise({
    argv: ['/bin/sh', '-c', script],
    cwd: os.tmpdir(),
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    timeoutMs: 10_000,
    killGraceMs: 300,
    signal: new AbortController().signal,
    containment: environSweep,
    label: 'a test command',
    output: (chunk) => (output += chunk.toString()),
    note: (text) => notes.push(text),
    ...overrides,
  });
  return { outcome, output, notes };
}

describe('supervisor: one command, nothing left behind', function () {
  this.timeout(30_000);

  it('reports the exit code and the output of both streams', async () => {
    const { outcome, output } = await run('echo out; echo err >&2; exit 7');
    expect(outcome).to.deep.equal({ exitCode: 7, signal: null, timedOut: false, aborted: false, startError: null });
    expect(output).to.include('out\n').and.include('err\n');
  });

  it('reports a signal that ended the command', async () => {
    const { outcome } = await run('kill -USR1 $$');
    expect(outcome).to.include({ exitCode: null, signal: 'SIGUSR1', timedOut: false });
  });

  it('reports a command that cannot start, without a pid', async () => {
    let started = false;
    const { outcome } = await run('', {
      argv: [path.join(os.tmpdir(), `no-such-command-${randomInt(1e9)}`)],
      started: async () => void (started = true),
    });
    expect(outcome.startError).to.match(/ENOENT/);
    expect(started).to.equal(false);
  });

  it('at the timeout ends the group and what left it by setsid', async () => {
    const [escaped, inGroup] = [needle(), needle()];
    const { outcome, notes } = await run(`setsid ${escaped} & ${inGroup} & wait`, { timeoutMs: 500 });
    expect(outcome).to.include({ timedOut: true, aborted: false, signal: 'SIGTERM' });
    expect(await processesMatching(escaped)).to.deep.equal([]);
    expect(await processesMatching(inGroup)).to.deep.equal([]);
    expect(notes.join('\n')).to.match(/timeout of 500 ms reached[\s\S]*left the process group were still running/);
  });

  it('on abort ends the group and what left it, and tells the started hook its pid and mark', async () => {
    const [escaped, inGroup] = [needle(), needle()];
    const controller = new AbortController();
    let marked: { pid: number; mark: string } | null = null;
    const running = run(`setsid ${escaped} & ${inGroup} & wait`, {
      signal: controller.signal,
      started: async (pid, mark) => void (marked = { pid, mark }),
    });
    await waitFor('both sleeps to run', async () => (await processesMatching(escaped)).length > 0 || null);
    await waitFor('the group sleep to run', async () => (await processesMatching(inGroup)).length > 0 || null);
    controller.abort(new Error('stopping'));
    const { outcome } = await running;
    expect(outcome).to.include({ aborted: true, timedOut: false, signal: 'SIGTERM' });
    expect(marked)
      .to.have.property('mark')
      .that.matches(/^[0-9a-f]{16}$/);
    expect(await processesMatching(escaped)).to.deep.equal([]);
    expect(await processesMatching(inGroup)).to.deep.equal([]);
  });
});

describe('host build (hyperctl upgrade) under the supervisor', function () {
  this.timeout(60_000);
  let base: string;

  beforeEach(async () => {
    base = await mkdtemp(path.join(os.tmpdir(), 'daemon-build-'));
  });
  afterEach(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it('a cancelled step ends with what it started, and the build leaves nothing but its log', async () => {
    const repo = await createExampleRepo(path.join(base, 'repo'));
    const tag = await repo.release('26.11.27.0');
    const [escaped, inGroup] = [needle(), needle()];
    const controller = new AbortController();
    const logFile = path.join(base, 'upgrade.log');
    const building = buildTag({
      repo: repo.path,
      tag,
      buildsDir: path.join(base, 'builds'),
      currentDir: base,
      installCommand: 'true',
      testCommand: `setsid ${escaped} & ${inGroup}`,
      buildCommand: 'true',
      stepTimeoutMs: 30_000,
      signal: controller.signal,
      logFile,
      progress: () => undefined,
    });
    // A build that ends before its test step runs says why, instead of a wait that times out.
    let endedEarly: unknown = null;
    void building.catch((e: unknown) => (endedEarly = e));
    await waitFor('the test step to run', async () => {
      if (endedEarly !== null) throw new Error(`the build ended first: ${(endedEarly as Error).message}`);
      return (await processesMatching(inGroup)).length > 0 || null;
    });
    controller.abort(new Error('^C'));
    const err = await building.then(
      () => expect.fail('a cancelled build must fail'),
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(DaemonBuildError).with.property('step', 'test');
    expect((err as Error).message).to.match(/was cancelled/);
    expect(await processesMatching(escaped)).to.deep.equal([]);
    expect(await processesMatching(inGroup)).to.deep.equal([]);
    expect(await readdir(path.join(base, 'builds'))).to.deep.equal([]);
    expect(existsSync(logFile)).to.equal(true);
    expect(await readFile(logFile, 'utf8')).to.match(/cancelled: stopping the process group/);
  });
});
