// Steps a crashed daemon left: real detached process groups (one with a child that left it by
// setsid), real marks on disk, the environment sweep as the containment.
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { environSweep, newStepMark, STEP_MARK_VAR } from '../common/containment.js';
import { markStep, stopLeftoverSteps } from '../reconciler/pipeline/leftovers.js';
import { waitFor } from './harness/wait.js';
import { processesMatching } from './harness/processes.js';

/** A detached `sh` leading its own group, with a `sleep` child only it runs, and the step's mark in its environment. */
async function group(): Promise<{ child: ChildProcess; needle: string; mark: string }> {
  const needle = `sleep 1000.${randomInt(100_000, 999_999)}`;
  const mark = newStepMark();
  const child = spawn('sh', ['-c', `${needle} & wait`], {
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, [STEP_MARK_VAR]: mark },
  });
  child.unref();
  await waitFor('the group to run', async () => (await processesMatching(needle)).length > 0 || null, 5_000);
  return { child, needle, mark };
}

const options = { graceMs: 500, containment: environSweep, running: new Set<string>() };

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
    const { child, needle, mark } = await group();
    started.push(child);
    await markStep(path.join(dir, 'v26.11.27.0.json'), child.pid!, mark);
    expect(await stopLeftoverSteps(dir, options)).to.deep.equal(['v26.11.27.0']);
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
    expect(await stopLeftoverSteps(dir, options)).to.deep.equal([]);
    expect(await processesMatching(needle)).to.have.length.above(0);
    expect(existsSync(path.join(dir, 'v26.11.27.1.json'))).to.equal(false);
    expect(await readdir(dir)).to.deep.equal([]);
  });

  it('stops a process that left the group by setsid, found by the mark in its environment', async () => {
    const { child, needle, mark } = await group();
    started.push(child);
    const escaped = `sleep 1000.${randomInt(100_000, 999_999)}`;
    const runaway = spawn('setsid', escaped.split(' '), {
      stdio: 'ignore',
      env: { ...process.env, [STEP_MARK_VAR]: mark },
    });
    runaway.unref();
    await waitFor('the runaway to run', async () => (await processesMatching(escaped)).length > 0 || null, 5_000);
    // The leader and its group are gone already (as after a kill of the whole group); only the runaway is left.
    killGroup(child);
    await waitFor('the group to end', async () => (await processesMatching(needle)).length === 0 || null, 5_000);
    await markStep(path.join(dir, 'v26.11.27.4.json'), child.pid!, mark);
    expect(await stopLeftoverSteps(dir, options)).to.deep.equal(['v26.11.27.4']);
    expect(await processesMatching(escaped)).to.deep.equal([]);
  });

  it('leaves alone the marks of tags this daemon builds itself', async () => {
    const { child, needle, mark } = await group();
    started.push(child);
    await markStep(path.join(dir, 'v26.11.27.5.json'), child.pid!, mark);
    expect(await stopLeftoverSteps(dir, { ...options, running: new Set(['v26.11.27.5']) })).to.deep.equal([]);
    expect(await processesMatching(needle)).to.have.length.above(0);
    expect(await readdir(dir)).to.deep.equal(['v26.11.27.5.json']);
  });
});
