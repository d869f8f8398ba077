// A starting daemon clears what its predecessor's builds left (their scripts, their temporary
// folders) while its desired-state source may already ask for a build. A build asked for meanwhile
// must wait for the clearing, or the clearing removes its --output folder under a running BUILD
// ("BUILD exited 0 but did not write the executable"). Real processes, a real repo and store.
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { environSweep, newStepMark, STEP_MARK_VAR } from '../common/containment.js';
import { markStep } from '../reconciler/pipeline/leftovers.js';
import { processesMatching } from './harness/processes.js';
import { startPipelineHost, type PipelineHost } from './harness/pipeline-host.js';
import { waitFor } from './harness/wait.js';

describe('pipeline: a build asked for while leftovers are cleared', function () {
  this.timeout(60_000);
  let host: PipelineHost;
  let leftover: ChildProcess | null = null;

  beforeEach(async () => {
    host = await startPipelineHost('clearing-');
  });
  afterEach(async () => {
    try {
      if (leftover?.pid) process.kill(-leftover.pid, 'SIGKILL');
    } catch {
      // Stopped by the clearing: what the test wanted.
    }
    leftover = null;
    await host?.close();
  });

  it('starts only once the clearing is done, and builds', async () => {
    // A leftover group that ignores SIGTERM: the clearing lasts the whole kill grace (2 s).
    const needle = `sleep 1000.${randomInt(100_000, 999_999)}`;
    const mark = newStepMark();
    leftover = spawn('sh', ['-c', `trap '' TERM; ${needle} & wait`], {
      detached: true,
      stdio: 'ignore',
      env: { ...process.env, [STEP_MARK_VAR]: mark },
    });
    leftover.unref();
    await waitFor('the leftover to run', async () => (await processesMatching(needle)).length > 0 || null, 5_000);
    const pipeline = host.pipeline({ killGraceMs: 2_000, containment: environSweep });
    await markStep(path.join(pipeline.marksDir, 'v26.11.26.9.json'), leftover.pid!, mark);

    // BUILD says when it starts; the clearing must be over by then.
    const started = path.join(host.base, 'build-started');
    const text = await readFile(path.join(host.repo.path, 'BUILD'), 'utf8');
    await host.repo.commitFile(
      'BUILD',
      text.replace("'use strict';", `'use strict';\nrequire('node:fs').writeFileSync(${JSON.stringify(started)}, '');`),
      'BUILD says when it starts',
    );
    const tag = await host.repo.release('26.11.27.0');

    const clearing = pipeline.clearLeftovers();
    const run = pipeline.run(tag, new AbortController().signal);
    const cleared = await clearing;
    // Looked at at once: the run goes on as soon as the clearing is done.
    expect(existsSync(started), 'BUILD ran while the clearing removed build folders').to.equal(false);
    expect(cleared.tags).to.deep.equal(['v26.11.26.9']);
    expect(await processesMatching(needle)).to.deep.equal([]);
    const record = await run;
    expect(record, String(record.error)).to.include({ status: 'succeeded' });
    expect(existsSync(started)).to.equal(true);
  });
});
