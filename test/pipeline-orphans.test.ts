// What a killed daemon's builds leave besides their scripts: git processes that carry the root's
// containment mark, and temporary artifact folders. Real git processes against a remote that never
// answers, real folders.
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { STEP_MARK_VAR } from '../common/containment.js';
import { GitError } from '../common/errors.js';
import { gitEnv } from '../common/git.js';
import { environHas } from '../common/proc-table.js';
import { RepoMirror } from '../reconciler/pipeline/mirror.js';
import { gitMarkOf, removeBuildTemps, stopOrphanGit } from '../reconciler/pipeline/orphans.js';
import { processesMatching } from './harness/processes.js';
import { waitFor } from './harness/wait.js';

describe('pipeline: git and folders left by a killed daemon', () => {
  let dir: string;
  let silent: Server;
  const sockets = new Set<Socket>();
  const children: ChildProcess[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'orphans-'));
    silent = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  });
  afterEach(async () => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  /** A git that hangs on a remote that never answers; its command line holds a unique repo name. */
  function hangingGit(): { url: string; args: string[] } {
    const url = `git://127.0.0.1:${(silent.address() as AddressInfo).port}/repo-${randomInt(1e9)}`;
    return { url, args: ['ls-remote', url] };
  }

  it("stops a git that carries the root's mark and whose daemon is gone, and only that one", async () => {
    const mark = gitMarkOf(dir);
    const orphan = hangingGit();
    const unrelated = hangingGit();
    // sh starts git in the background and exits: git is reparented, as when its daemon is killed.
    for (const [env, git] of [
      [gitEnv(mark), orphan],
      [gitEnv(gitMarkOf(path.join(dir, 'other-root'))), unrelated],
    ] as const) {
      spawn('sh', ['-c', `git ${git.args.join(' ')} >/dev/null 2>&1 &`], { cwd: dir, env, stdio: 'ignore' }).unref();
    }
    const ours = hangingGit();
    children.push(spawn('git', ours.args, { cwd: dir, env: gitEnv(mark), stdio: 'ignore' }));
    for (const url of [orphan.url, unrelated.url, ours.url]) {
      await waitFor(`git ${url} to run`, async () => (await processesMatching(url)).length > 0 || null, 5_000);
    }
    expect(await stopOrphanGit(mark, 500)).to.equal(1);
    expect(await processesMatching(orphan.url)).to.deep.equal([]);
    expect(await processesMatching(ours.url), 'a git this process started').to.have.length(1);
    const strays = await processesMatching(unrelated.url);
    expect(strays, 'a git of another root').to.have.length(1);
    for (const pid of strays) process.kill(pid, 'SIGKILL');
  });

  it("the mirror's git carries the root's mark, and is left alone while its daemon runs", async () => {
    const mark = gitMarkOf(dir);
    const { url } = hangingGit();
    const mirror = new RepoMirror({ repo: url, dir: path.join(dir, 'mirror.git'), timeoutMs: 10_000, mark });
    const cancel = new AbortController();
    const fetching = mirror.fetch(cancel.signal).catch((err: unknown) => err);
    try {
      const pid = await waitFor(`git ${url} to run`, async () => (await processesMatching(url))[0] ?? null, 5_000);
      expect(await environHas(pid, `${STEP_MARK_VAR}=${mark}`)).to.equal(true);
      expect(await stopOrphanGit(mark, 500), 'a git of this process').to.equal(0);
    } finally {
      cancel.abort();
    }
    expect(await fetching).to.be.instanceOf(GitError);
  });

  it('removes temporary build folders, except those of tags being built', async () => {
    for (const name of ['.build-v1-abc', '.old-v1-123', '.build-v2-def', 'v1', 'v2']) {
      await mkdir(path.join(dir, name));
    }
    expect((await removeBuildTemps(dir, new Set(['v2']))).sort()).to.deep.equal(['.build-v1-abc', '.old-v1-123']);
    expect((await readdir(dir)).sort()).to.deep.equal(['.build-v2-def', 'v1', 'v2']);
  });
});
