// The build pipeline against real git repos of the example backend, real BUILD/TEST processes and
// a real embedded store. Each test gets its own repo, root and store file.
import { expect } from 'chai';
import { randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { readdir, readFile, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import { simpleGit } from 'simple-git';
import { STEP_MARK_VAR } from '../common/containment.js';
import { ConflictError, ValidationError } from '../common/errors.js';
import { isSafeTag } from '../common/git-names.js';
import type { ReleasePipeline, ReleasePipelineOptions } from '../reconciler/pipeline.js';
import type { EmbeddedStore } from '../store/embedded.js';
import { processesMatching } from './harness/processes.js';
import { startBackend, type ExampleRepo } from '../harness/example-repo.js';
import { startPipelineHost, type PipelineHost } from './harness/pipeline-host.js';
import { waitUntil } from './harness/wait.js';

/** A sleep whose command line no other process on the host shares. */
function uniqueSleep(): { args: string; needle: string } {
  const args = `1000.${randomInt(100_000, 999_999)}`;
  return { args, needle: `sleep ${args}` };
}

function never(): AbortSignal {
  return new AbortController().signal;
}

describe('ReleasePipeline', function () {
  this.timeout(60_000);
  let host: PipelineHost;
  let repo: ExampleRepo;
  let store: EmbeddedStore;
  let root: string;

  beforeEach(async () => {
    host = await startPipelineHost('pipeline-');
    ({ repo, store, root } = host);
  });
  afterEach(async () => {
    await host?.close();
  });

  const pipeline = (overrides: Partial<ReleasePipelineOptions> = {}): ReleasePipeline => host.pipeline(overrides);

  it('builds and tests a good tag; the artifact runs and answers /version', async () => {
    const tag = await repo.release('26.11.27.0');
    const record = await pipeline().run(tag, never());
    expect(record).to.include({
      tag,
      status: 'succeeded',
      error: null,
      version: '26.11.27.0',
      author: 'Example Tester <tester@example.invalid>',
    });
    expect(record.sha).to.equal(await simpleGit(repo.path).revparse([`${tag}^{commit}`]));
    expect(record.build).to.include({
      exitCode: 0,
      signal: null,
      timedOut: false,
      logPath: path.join(root, 'logs', tag, 'build.log'),
    });
    expect(record.test).to.include({ exitCode: 0, timedOut: false, logPath: path.join(root, 'logs', tag, 'test.log') });
    expect(record.artifactPath).to.equal(path.join(root, 'artifacts', tag, '26.11.27.0'));
    expect(await store.getRelease(tag)).to.deep.equal(record);
    expect(await readFile(record.test!.logPath, 'utf8')).to.match(/TEST passed[\s\S]*TEST exited with code 0/);
    expect((await readdir(path.join(root, 'artifacts'))).sort()).to.deep.equal([tag]);
    expect(existsSync(path.join(root, 'repos', tag, 'VERSION'))).to.equal(true);

    const backend = await startBackend(record.artifactPath!, {
      deployment: 'prod',
      envRoot: host.envRoot,
      version: '26.11.27.0',
    });
    try {
      const res = await fetch(`http://127.0.0.1:${backend.port}/version`, { signal: AbortSignal.timeout(5_000) });
      expect(await res.text()).to.equal('26.11.27.0');
    } finally {
      await backend.stop();
    }
  });

  it('refuses a second run of a tag in flight, and a later run starts from a blank record', async () => {
    const tag = await repo.release('26.11.27.0');
    const builder = pipeline();
    const first = builder.run(tag, never());
    await builder.run(tag, never()).then(
      () => expect.fail('a second run of the same tag must be refused'),
      (err: unknown) => expect(err).to.be.instanceOf(ConflictError),
    );
    const done = await first;
    const again = await builder.run(tag, never());
    expect(again.status).to.equal('succeeded');
    expect(again.createdAt).to.equal(done.createdAt);
    expect(again.build!.startedAt > done.test!.finishedAt).to.equal(true);
  });

  it('rejects a tag whose VERSION differs, and builds nothing', async () => {
    await repo.commitFile('VERSION', '26.11.27.9\n', 'a VERSION that does not match the tag');
    await simpleGit(repo.path).addTag('v26.11.27.8');
    const record = await pipeline().run('v26.11.27.8', never());
    expect(record).to.include({ status: 'rejected', version: null, build: null, test: null, artifactPath: null });
    expect(record.sha).to.match(/^[0-9a-f]{40}$/);
    expect(record.error).to.match(/VERSION at v26\.11\.27\.8 is "26\.11\.27\.9"/);
    expect(existsSync(path.join(root, 'artifacts', 'v26.11.27.8'))).to.equal(false);
  });

  it('builds the tag, not a branch that shares its name', async () => {
    const tag = await repo.release('26.11.27.0');
    const tagged = await simpleGit(repo.path).revparse([`${tag}^{commit}`]);
    await repo.commitFile('VERSION', '26.11.27.5\n', 'a later commit');
    await simpleGit(repo.path).raw(['branch', tag]);
    const record = await pipeline().run(tag, never());
    expect(record).to.include({ status: 'succeeded', sha: tagged, version: '26.11.27.0' });
  });

  it('does not follow a VERSION symlink out of the checkout', async () => {
    const git = simpleGit(repo.path);
    await rm(path.join(repo.path, 'VERSION'));
    await symlink('/etc/hostname', path.join(repo.path, 'VERSION'));
    await git.add(['--', 'VERSION']);
    await git.commit('VERSION points at a host file');
    await git.addTag('v26.11.27.0');
    const record = await pipeline().run('v26.11.27.0', never());
    expect(record).to.include({ status: 'rejected', build: null });
    expect(record.error).to.match(/not a regular file/);
  });

  it('rejects a tag the repository does not have', async () => {
    const record = await pipeline().run('v26.11.27.7', never());
    expect(record).to.include({ status: 'rejected', sha: null });
    expect(record.error).to.match(/tag v26\.11\.27\.7 does not exist/);
  });

  it('gives up on a git remote that never answers, at the git deadline', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as AddressInfo;
      const started = Date.now();
      const record = await pipeline({ repo: `http://127.0.0.1:${port}/backend.git`, gitTimeoutMs: 1_000 }).run(
        'v26.11.27.0',
        never(),
      );
      expect(Date.now() - started).to.be.below(10_000);
      expect(record).to.include({ status: 'failed', build: null });
      expect(record.error).to.match(/^git fetch http:\/\/127\.0\.0\.1:\d+\/backend\.git: no answer within 1000 ms/);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('records a failing TEST as failed, with its log', async () => {
    await repo.commitFile(
      'TEST',
      '#!/bin/sh\necho "checking the contract"\necho "boom: /ping answered 500" >&2\nexit 1\n',
      'break TEST',
    );
    const tag = await repo.release('26.11.28.0');
    const record = await pipeline().run(tag, never());
    expect(record.status).to.equal('failed');
    expect(record.build).to.include({ exitCode: 0 });
    expect(record.test).to.include({ exitCode: 1, signal: null, timedOut: false });
    expect(record.error).to.match(/^TEST exited with code 1 \(log: .*test\.log\)$/);
    expect(record.artifactPath).to.equal(path.join(root, 'artifacts', tag, '26.11.28.0'));
    expect(await readFile(record.test!.logPath, 'utf8')).to.match(
      /checking the contract[\s\S]*boom: \/ping answered 500/,
    );
  });

  it('fails with the reason when BUILD is not executable', async () => {
    const git = simpleGit(repo.path);
    await git.raw(['update-index', '--chmod=-x', '--', 'BUILD']);
    await git.commit('BUILD loses its executable bit');
    await rm(path.join(repo.path, 'BUILD'));
    await git.raw(['checkout', '--', 'BUILD']);
    const tag = await repo.release('26.11.28.1');
    const record = await pipeline().run(tag, never());
    expect(record).to.include({ status: 'failed', artifactPath: null });
    expect(record.build).to.include({ exitCode: null, timedOut: false });
    expect(record.error).to.match(/^BUILD could not start: .*EACCES/);
  });

  it('kills a hanging BUILD with its children at the timeout', async () => {
    const sleep = uniqueSleep();
    await repo.commitFile('BUILD', `#!/bin/sh\necho "building forever"\nsleep ${sleep.args} &\nwait\n`, 'hang BUILD');
    const tag = await repo.release('26.11.29.0');
    const started = Date.now();
    const record = await pipeline({ appBuild: { script: 'BUILD', timeoutMs: 1_500 } }).run(tag, never());
    expect(Date.now() - started).to.be.below(15_000);
    expect(record.status).to.equal('failed');
    expect(record.build).to.include({ timedOut: true, exitCode: null, signal: 'SIGTERM' });
    expect(record.error).to.match(/^BUILD timed out after 1500 ms/);
    expect(record.test).to.equal(null);
    expect(await processesMatching(sleep.needle)).to.deep.equal([]);
    expect(await readFile(record.build!.logPath, 'utf8')).to.match(/building forever[\s\S]*timeout of 1500 ms reached/);
  });

  it('escalates to SIGKILL when the group ignores SIGTERM', async () => {
    const sleep = uniqueSleep();
    // An ignored signal stays ignored in children, so both sh and sleep shrug off SIGTERM.
    await repo.commitFile('BUILD', `#!/bin/sh\ntrap '' TERM\nsleep ${sleep.args} &\nwait\n`, 'stubborn BUILD');
    const tag = await repo.release('26.11.29.1');
    const record = await pipeline({ appBuild: { script: 'BUILD', timeoutMs: 1_000 } }).run(tag, never());
    expect(record.build).to.include({ timedOut: true, signal: 'SIGKILL' });
    expect(await processesMatching(sleep.needle)).to.deep.equal([]);
  });

  it('stops the process group on abort and records the release as interrupted', async () => {
    const sleep = uniqueSleep();
    await repo.commitFile('BUILD', `#!/bin/sh\nsleep ${sleep.args} &\nwait\n`, 'hang BUILD');
    const tag = await repo.release('26.11.29.2');
    const controller = new AbortController();
    const running = pipeline().run(tag, controller.signal);
    await waitUntil(
      () => processesMatching(sleep.needle),
      (found) => found.length > 0,
      { what: 'BUILD to start its sleep', timeoutMs: 10_000 },
    );
    controller.abort(new Error('operator cancelled'));
    const record = await running;
    expect(record.status).to.equal('interrupted');
    expect(record.error).to.match(/cancelled/);
    expect(record.build).to.include({ timedOut: false, signal: 'SIGTERM' });
    expect(await processesMatching(sleep.needle)).to.deep.equal([]);
  });

  it('stops processes a successful BUILD leaves behind', async () => {
    const sleep = uniqueSleep();
    const original = await readFile(path.join(repo.path, 'BUILD'), 'utf8');
    const leaky = original.replace(
      "'use strict';",
      `'use strict';\nrequire('node:child_process').spawn('sleep', ['${sleep.args}'], { stdio: 'ignore' }).unref();`,
    );
    await repo.commitFile('BUILD', leaky, 'BUILD leaves a process behind');
    const tag = await repo.release('26.11.29.3');
    const record = await pipeline().run(tag, never());
    expect(record.status).to.equal('succeeded');
    expect(await processesMatching(sleep.needle)).to.deep.equal([]);
    expect(await readFile(record.build!.logPath, 'utf8')).to.match(/processes of the group were still running/);
  });

  it('gives scripts PATH, HOME and LANG only, and the step mark', async () => {
    process.env.HYPERVISOR_TEST_SECRET = 'do-not-leak';
    try {
      await repo.commitFile('TEST', '#!/bin/sh\nenv\n', 'TEST prints its environment');
      const tag = await repo.release('26.11.30.0');
      const record = await pipeline().run(tag, never());
      expect(record.status).to.equal('succeeded');
      const log = await readFile(record.test!.logPath, 'utf8');
      const names = log
        .split('\n')
        .filter((l) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(l))
        .map((l) => l.slice(0, l.indexOf('=')));
      expect(names).to.include.members(['PATH', 'HOME', 'LANG', STEP_MARK_VAR]);
      // PWD, SHLVL and OLDPWD are set by sh itself.
      const ours = ['PATH', 'HOME', 'LANG', STEP_MARK_VAR, 'PWD', 'SHLVL', 'OLDPWD', '_'];
      expect(names.filter((n) => !ours.includes(n))).to.deep.equal([]);
      expect(log).to.not.include('do-not-leak');
    } finally {
      delete process.env.HYPERVISOR_TEST_SECRET;
    }
  });

  it('caps a log and says so, keeping the footer', async () => {
    await repo.commitFile('BUILD', "#!/bin/sh\nhead -c 200000 /dev/zero | tr '\\0' x\nexit 3\n", 'noisy BUILD');
    const tag = await repo.release('26.11.30.1');
    const record = await pipeline({ logCapBytes: 4_096 }).run(tag, never());
    expect(record.build).to.include({ exitCode: 3 });
    const log = await readFile(record.build!.logPath, 'utf8');
    expect(log.length).to.be.below(4_096 + 1_024);
    expect(log).to.match(/log truncated[\s\S]*BUILD exited with code 3\n$/);
  });

  describe('refuses unsafe tags before anything is written', () => {
    const unsafe = [
      'v1$HOME',
      'v1;x',
      '-v1',
      '--upload-pack=x',
      `v${'1'.repeat(299)}`,
      'v1/../x',
      'v1 x',
      'v1\nx',
      'v..',
      'v.',
      '',
    ];
    for (const tag of unsafe) {
      const shown = tag.length > 20 ? `${tag.slice(0, 12)}... (${tag.length} bytes)` : tag;
      it(`refuses ${JSON.stringify(shown)}`, async () => {
        // A pattern that accepts anything: the safe charset alone must stop these.
        const loose = pipeline({ tagPattern: /^.*$/s });
        await loose.run(tag, never()).then(
          () => expect.fail('must throw'),
          (err: unknown) => expect(err).to.be.instanceOf(ValidationError),
        );
        expect(existsSync(root)).to.equal(false);
        expect(await store.listReleases(10)).to.deep.equal([]);
      });
    }

    it('refuses a safe tag that does not match the configured pattern', async () => {
      await pipeline()
        .run('v1', never())
        .then(
          () => expect.fail('must throw'),
          (err: unknown) =>
            expect(err)
              .to.be.instanceOf(ValidationError)
              .with.property('message')
              .that.matches(/tag pattern/),
        );
      expect(existsSync(root)).to.equal(false);
    });
  });

  it('isSafeTag accepts release tags and nothing that could act as a path or an option', () => {
    for (const tag of ['v26.11.27.0', 'v1', 'v1.2.3-rc_1', `v${'1'.repeat(100)}`])
      expect(isSafeTag(tag), tag).to.equal(true);
    for (const tag of [
      '26.11.27.0',
      'v',
      `v${'1'.repeat(101)}`,
      'v1..2',
      'v1.lock',
      'v1/x',
      'V1',
      'v-1',
      'v1\0',
      7,
      null,
    ]) {
      expect(isSafeTag(tag), String(tag)).to.equal(false);
    }
  });

  it('validates its options when built', () => {
    const build =
      (o: Partial<ReleasePipelineOptions>): (() => ReleasePipeline) =>
      () =>
        pipeline(o);
    expect(build({ root: 'relative/root' })).to.throw(ValidationError, /root: must be an absolute path/);
    expect(build({ appBuild: { script: '../BUILD', timeoutMs: 1 } })).to.throw(ValidationError, /appBuild\.script/);
    expect(build({ appTest: { script: 'TEST', timeoutMs: 0 } })).to.throw(ValidationError, /appTest\.timeoutMs/);
    expect(build({ repo: '--upload-pack=x' })).to.throw(ValidationError, /repo/);
  });
});
