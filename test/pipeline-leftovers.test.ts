// Script groups a crashed daemon left: real detached process groups, real marks on disk.
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { markGroup, stopLeftoverGroups } from '../reconciler/pipeline/leftovers.js';
import { waitFor } from './harness/wait.js';
import { processesMatching } from './webhook-harness.js';

/** A detached `sh` leading its own group, with a `sleep` child only it runs. */
async function group(): Promise<{ child: ChildProcess; needle: string }> {
  const needle = `sleep 1000.${randomInt(100_000, 999_999)}`;
  const child = spawn('sh', ['-c', `${needle} & wait`], { detached: true, stdio: 'ignore' });
  child.unref();
  await waitFor('the group to run', async () => (await processesMatching(needle)).length > 0 || null, 5_000);
  return { child, needle };
}

function killGroup(child: ChildProcess): void {
  try {
    if (child.pid) process.kill(-child.pid, 'SIGKILL');
  } catch {
    // Gone already: what the test wanted.
  }
}

describe('pipeline: script groups left by a crashed daemon', () => {
  let dir: string;
  const started: ChildProcess[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'leftovers-'));
  });
  afterEach(async () => {
    for (const child of started.splice(0)) killGroup(child);
    await rm(dir, { recursive: true, force: true });
  });

  it('stops a marked group that still runs, children included, and removes its mark', async () => {
    const { child, needle } = await group();
    started.push(child);
    await markGroup(path.join(dir, 'v26.11.27.0.json'), child.pid!);
    expect(await stopLeftoverGroups(dir, 500)).to.deep.equal(['v26.11.27.0']);
    expect(await processesMatching(needle)).to.deep.equal([]);
    expect(await readdir(dir)).to.deep.equal([]);
  });

  it('leaves alone a process that only reuses a marked pid, and forgets marks of groups that are gone', async () => {
    const { child, needle } = await group();
    started.push(child);
    // Same pid, another start time: what a later, unrelated process with a recycled pid looks like.
    await writeFile(path.join(dir, 'v26.11.27.1.json'), JSON.stringify({ pgid: child.pid, startTime: '1' }));
    await writeFile(path.join(dir, 'v26.11.27.2.json'), JSON.stringify({ pgid: 2 ** 22 + 1, startTime: '1' }));
    await writeFile(path.join(dir, 'v26.11.27.3.json'), 'not json');
    expect(await stopLeftoverGroups(dir, 500)).to.deep.equal([]);
    expect(await processesMatching(needle)).to.have.length.above(0);
    expect(existsSync(path.join(dir, 'v26.11.27.1.json'))).to.equal(false);
    expect(await readdir(dir)).to.deep.equal([]);
  });
});
