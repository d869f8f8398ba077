// The one git runner (common/git.ts), both of its implementations through one contract: real git
// in a real repo, and against a real TCP server that accepts and never answers.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { STEP_MARK_VAR } from '../common/containment.js';
import { GitError } from '../common/errors.js';
import { simpleGitRunner, spawnGitRunner, type GitRunner, type GitRunnerOptions } from '../common/git.js';
import { processesMatching } from './harness/processes.js';
import { waitFor, waitUntil } from './harness/wait.js';

const MARK = '0123456789abcdef';

function runnerContract(name: string, make: (options: GitRunnerOptions) => GitRunner): void {
  describe(`git runner: ${name}`, () => {
    let dir: string;
    let silent: Server;
    const sockets = new Set<Socket>();
    const git = make({ timeoutMs: 10_000, mark: MARK });

    before(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'git-runner-'));
      execFileSync('git', ['init', '--quiet', dir]);
      execFileSync('git', [
        '-C',
        dir,
        '-c',
        'user.name=t',
        '-c',
        'user.email=t@t',
        'commit',
        '-qm',
        'one',
        '--allow-empty',
      ]);
      silent = createServer((socket) => sockets.add(socket));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    });
    after(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
      await rm(dir, { recursive: true, force: true });
    });

    /** A git call that hangs on a remote that never answers; its command line holds a unique name. */
    function hanging(): { url: string; args: string[] } {
      const url = `git://127.0.0.1:${(silent.address() as AddressInfo).port}/repo-${randomInt(1e9)}`;
      return { url, args: ['ls-remote', url] };
    }

    const running = (url: string): Promise<number> =>
      waitFor('git to run', async () => (await processesMatching(url))[0] ?? null, 5_000);
    const ended = (url: string): Promise<number[]> =>
      waitUntil(
        () => processesMatching(url),
        (pids) => pids.length === 0,
        { what: 'git to end', timeoutMs: 5_000 },
      );

    async function rejection(call: Promise<unknown>): Promise<GitError> {
      const err = await call.then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(GitError);
      return err as GitError;
    }

    it('resolves with what git prints', async () => {
      const head = execFileSync('git', ['-C', dir, 'rev-parse', 'HEAD'], { encoding: 'utf8' });
      expect(await git.run(['rev-parse', 'HEAD'], { cwd: dir })).to.equal(head);
    });

    it('a failure is a GitError with the command and the end of stderr', async () => {
      const err = await rejection(git.run(['rev-parse', '--verify', 'refs/nope'], { cwd: dir }));
      expect(err.command).to.deep.equal(['git', 'rev-parse', '--verify', 'refs/nope']);
      expect(err.stderr).to.match(/^fatal: /);
      expect(err.message).to.equal(`git rev-parse --verify refs/nope: ${err.stderr}`);
      const named = await rejection(git.run(['rev-parse', '--verify', 'refs/nope'], { cwd: dir, what: 'reading' }));
      expect(named.message).to.equal(`reading: ${err.stderr}`);
    });

    it('an exit but 0 fails even without stderr, unless the code is a quiet "no"', async () => {
      const args = ['rev-parse', '--verify', '--quiet', 'refs/nope'];
      const err = await rejection(git.run(args, { cwd: dir }));
      expect(err.stderr).to.equal('');
      expect(await git.run(args, { cwd: dir, quietCodes: [1] })).to.equal('');
      await rejection(git.run(['rev-parse', '--verify', 'refs/nope'], { cwd: dir, quietCodes: [128] }));
    });

    it('git that does not answer within the deadline is killed', async () => {
      const { url, args } = hanging();
      const err = await rejection(make({ timeoutMs: 300 }).run(args, { cwd: dir, what: 'listing' }));
      expect(err.message).to.equal('listing: no answer within 300 ms');
      await ended(url);
    });

    it('a cancelled call kills git and says so', async () => {
      const { url, args } = hanging();
      const cancel = new AbortController();
      const call = git.run(args, { cwd: dir, signal: cancel.signal });
      await running(url);
      cancel.abort();
      expect((await rejection(call)).message).to.equal(`git ls-remote ${url}: cancelled`);
      await ended(url);
    });

    it("git carries the mark and a clean environment: none of the daemon's GIT_* or other variables", async () => {
      const saved = { GIT_DIR: process.env.GIT_DIR, HV_TEST_SECRET: process.env.HV_TEST_SECRET };
      process.env.GIT_DIR = path.join(dir, 'not-a-repo');
      process.env.HV_TEST_SECRET = 'hunter2';
      try {
        expect(await git.run(['rev-parse', '--git-dir'], { cwd: dir })).to.equal('.git\n');
        const { url, args } = hanging();
        const cancel = new AbortController();
        const call = git.run(args, { cwd: dir, signal: cancel.signal }).catch(() => undefined);
        const environ = (await readFile(`/proc/${await running(url)}/environ`, 'utf8')).split('\0');
        cancel.abort();
        await call;
        expect(environ).to.include(`${STEP_MARK_VAR}=${MARK}`);
        expect(environ).to.include('GIT_TERMINAL_PROMPT=0');
        expect(
          environ.filter((entry) => entry.startsWith('GIT_DIR=') || entry.startsWith('HV_TEST_SECRET=')),
        ).to.deep.equal([]);
      } finally {
        for (const [key, value] of Object.entries(saved)) {
          if (value === undefined) delete process.env[key];
          else process.env[key] = value;
        }
      }
    });
  });
}

runnerContract('simple-git', simpleGitRunner);
runnerContract('spawn (the pipeline)', spawnGitRunner);
