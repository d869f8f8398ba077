// Events are the daemon's sequence of decisions: their ids must follow causes. Real builds of the
// example backend (one that succeeds, one that fails, a rebuild) through a real daemon: for each
// build, BuildQueued < BuildStarted < BuildSucceeded or BuildFailed, and an operator's rebuild
// request comes before the build it queues. An idle build queue starts a job at once, which is
// where BuildStarted used to overtake BuildQueued.
import { expect } from 'chai';
import path from 'node:path';
import type { EventRecord, ReleaseRecord } from '../common/types.js';
import { startTestDaemon, type TestDaemon } from './api-harness.js';
import { scratchDir } from '../harness/daemon-process.js';
import { createExampleRepo } from '../harness/example-repo.js';
import { waitFor } from './harness/wait.js';

const GOOD = 'v26.11.27.0';
const BROKEN = 'v26.11.27.1';
const FINAL = new Set(['succeeded', 'failed', 'rejected']);
const BUILD_REASONS = new Set(['BuildQueued', 'BuildStarted', 'BuildSucceeded', 'BuildFailed', 'RebuildRequested']);

describe('events follow causes: each real build is queued, then started, then ended', function () {
  this.timeout(180_000);
  let hv: TestDaemon;
  let repoDir: { dir: string; remove(): Promise<void> };
  let oscar: string;

  before(async () => {
    repoDir = await scratchDir('hv-order-repo-');
    const dir = path.join(repoDir.dir, 'backend');
    const repo = await createExampleRepo(dir);
    await repo.release(GOOD.slice(1));
    await repo.commitFile('BUILD', '#!/bin/sh\necho "this build fails" >&2\nexit 3\n', 'a BUILD that fails');
    await repo.release(BROKEN.slice(1));
    hv = await startTestDaemon({ repo: dir });
    await hv.addUser('oscar', 'operator');
    oscar = await hv.login('oscar');
  });
  after(async () => {
    await hv?.close();
    await repoDir?.remove();
  });

  const release = async (tag: string): Promise<ReleaseRecord | null> => {
    const answer = await hv.call<{ release: ReleaseRecord }>('GET', `/releases/${tag}`, { token: oscar });
    return answer.status === 200 ? answer.json.release : null;
  };
  const built = (tag: string, notBefore = ''): Promise<ReleaseRecord> =>
    waitFor(
      `${tag} built`,
      async () => {
        const r = await release(tag);
        return r && FINAL.has(r.status) && r.updatedAt > notBefore ? r : null;
      },
      90_000,
    );
  /** Build events of `tag`, in id order, as `reason` names. */
  const buildEvents = async (tag: string): Promise<EventRecord[]> => {
    const answer = await hv.call<{ events: EventRecord[] }>('GET', '/events?limit=1000', { token: oscar });
    return answer.json.events
      .filter((e) => BUILD_REASONS.has(e.reason) && e.data?.tag === tag)
      .sort((a, b) => a.id - b.id);
  };
  const stage = async (tag: string, color: string): Promise<void> => {
    const answer = await hv.call('POST', '/stage', { token: oscar, body: { tag, color } });
    expect(answer.status, answer.text).to.equal(201);
  };

  it('a build that succeeds: BuildQueued < BuildStarted < BuildSucceeded', async () => {
    await stage(GOOD, 'blue');
    expect((await built(GOOD)).status).to.equal('succeeded');
    const events = await waitFor('the build ended in events', async () => {
      const found = await buildEvents(GOOD);
      return found.some((e) => e.reason === 'BuildSucceeded') ? found : null;
    });
    expect(events.map((e) => e.reason)).to.deep.equal(['BuildQueued', 'BuildStarted', 'BuildSucceeded']);
  });

  it('a build that fails: BuildQueued < BuildStarted < BuildFailed', async () => {
    await stage(BROKEN, 'green');
    expect((await built(BROKEN)).status).to.equal('failed');
    const events = await waitFor('the build ended in events', async () => {
      const found = await buildEvents(BROKEN);
      return found.some((e) => e.reason === 'BuildFailed') ? found : null;
    });
    expect(events.map((e) => e.reason)).to.deep.equal(['BuildQueued', 'BuildStarted', 'BuildFailed']);
  });

  it('a rebuild: RebuildRequested < BuildQueued < BuildStarted < BuildSucceeded', async () => {
    const before = (await buildEvents(GOOD)).length;
    const since = new Date().toISOString();
    const answer = await hv.call('POST', `/releases/${GOOD}/rebuild`, { token: oscar });
    expect(answer.status, answer.text).to.equal(202);
    expect((await built(GOOD, since)).status).to.equal('succeeded');
    const events = await waitFor('the rebuild ended in events', async () => {
      const found = (await buildEvents(GOOD)).slice(before);
      return found.some((e) => e.reason === 'BuildSucceeded') ? found : null;
    });
    expect(events.map((e) => e.reason)).to.deep.equal([
      'RebuildRequested',
      'BuildQueued',
      'BuildStarted',
      'BuildSucceeded',
    ]);
  });
});
