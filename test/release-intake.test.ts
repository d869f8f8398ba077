// The release intake and the bare mirror against a real git repo of the example backend, a real
// embedded store and real builds (the pipeline behind the reconciler's build queue).
import { expect } from 'chai';
import { simpleGit } from 'simple-git';
import { ConflictError, NotFoundError, ValidationError } from '../common/errors.js';
import type { ReleaseRecord } from '../common/types.js';
import { BuildJobs } from '../reconciler/jobs.js';
import type { ReleasePipeline } from '../reconciler/pipeline.js';
import { ReleaseIntake, type TagCreated } from '../reconciler/release-intake.js';
import { TagMovedError } from '../reconciler/tag-moved.js';
import type { EmbeddedStore } from '../store/embedded.js';
import type { ExampleRepo } from '../harness/example-repo.js';
import { startPipelineHost, TAG_PATTERN as PATTERN, type PipelineHost } from './harness/pipeline-host.js';
import { pendingRelease } from './harness/records.js';
import { waitFor } from './harness/wait.js';

describe('release intake and mirror', function () {
  this.timeout(60_000);
  let host: PipelineHost;
  let repo: ExampleRepo;
  let store: EmbeddedStore;
  let pipeline: ReleasePipeline;
  let jobs: BuildJobs;
  let intake: ReleaseIntake;

  beforeEach(async () => {
    host = await startPipelineHost('intake-');
    ({ repo, store } = host);
    pipeline = host.pipeline();
    jobs = new BuildJobs(pipeline, { started: () => undefined, finished: () => undefined });
    intake = new ReleaseIntake({
      store,
      tagPattern: PATTERN,
      mirror: pipeline.mirror,
      builds: { build: (tag) => jobs.enqueue(tag), builds: () => jobs.tags() },
    });
  });
  afterEach(async () => {
    await intake.close();
    await jobs.close();
    await host.close();
  });

  const sha = async (rev: string): Promise<string> => (await simpleGit(repo.path).revparse([`${rev}^{commit}`])).trim();
  const delivered = (tag: string, commit: string | null, actor = 'github:ana'): TagCreated => ({
    tag,
    sha: commit,
    actor,
    deliveryId: `d-${Math.random()}`,
  });
  const settled = (tag: string): Promise<ReleaseRecord> =>
    waitFor(
      `${tag} settled`,
      async () => {
        const r = await store.getRelease(tag);
        return r && ['succeeded', 'failed', 'rejected'].includes(r.status) && !jobs.tags().has(tag) ? r : null;
      },
      30_000,
    );

  it('records a pushed tag as pending with its origin and SHA, queues it, and the build keeps both', async () => {
    const tag = await repo.release('26.11.27.0');
    const result = await intake.accept(delivered(tag, await sha(tag)));
    expect(result).to.deep.equal({ tag, status: 'pending', known: false, queued: true });
    const record = await settled(tag);
    expect(record).to.include({
      status: 'succeeded',
      sha: await sha(tag),
      author: 'Example Tester <tester@example.invalid>',
      interruptions: 0,
    });
    expect(record.origin).to.deep.equal({ source: 'webhook', actor: 'github:ana' });
  });

  it('refuses a tag that moved, in the request when the delivery names the commit, and leaves the record', async () => {
    const tag = await repo.release('26.11.27.0');
    await intake.accept(delivered(tag, await sha(tag)));
    const before = await settled(tag);
    const other = await repo.commitFile('README.md', 'moved\n', 'another commit');
    for (const call of [intake.check(delivered(tag, other)), intake.accept(delivered(tag, other))]) {
      await call.then(
        () => expect.fail('must refuse'),
        (err: unknown) =>
          expect(err)
            .to.be.instanceOf(TagMovedError)
            .with.property('message')
            .that.matches(/push a new tag/),
      );
    }
    expect(await store.getRelease(tag)).to.deep.equal(before);
  });

  it('checks a known tag named without a commit against the mirror, and reports a move as an event', async () => {
    const tag = await repo.release('26.11.27.0');
    await intake.accept(delivered(tag, await sha(tag)));
    const before = await settled(tag);
    const other = await repo.commitFile('README.md', 'moved\n', 'another commit');
    await simpleGit(repo.path).raw(['tag', '-f', tag, other]);
    expect(await intake.accept(delivered(tag, null))).to.deep.include({
      known: true,
      queued: false,
      status: 'succeeded',
    });
    const event = await waitFor(
      'TagMoved',
      async () => (await store.listRecentEvents(20)).find((e) => e.reason === 'TagMoved'),
      20_000,
    );
    expect(event.message).to.include(`release ${tag} is ${before.sha}, the delivery says ${other}`);
    expect(await store.getRelease(tag)).to.deep.equal(before);
  });

  it('records a safe tag outside the pattern as rejected; refuses an unsafe tag or SHA writing nothing', async () => {
    expect(await intake.accept(delivered('v2-preview', null))).to.deep.include({ status: 'rejected', queued: false });
    expect((await store.getRelease('v2-preview'))!.error).to.match(/does not match app\.tagPattern/);
    for (const bad of [
      delivered('v1;x', null),
      delivered('--upload-pack=x', null),
      delivered('v26.11.27.0', '--upload-pack=x'),
    ]) {
      await intake.accept(bad).then(
        () => expect.fail('must refuse'),
        (err: unknown) => expect(err).to.be.instanceOf(ValidationError),
      );
    }
    expect((await store.listReleases(10)).map((r) => r.tag)).to.deep.equal(['v2-preview']);
  });

  it('rebuilds on demand at the same commit, and refuses an unknown tag, a bad one, or one being built', async () => {
    const tag = await repo.release('26.11.27.0');
    await intake.accept(delivered(tag, await sha(tag)));
    const first = await settled(tag);
    const record = await intake.rebuild(tag, 'ops');
    expect(record).to.include({ status: 'pending', sha: first.sha, build: null, test: null });
    expect(record.origin).to.deep.equal({ source: 'operator', actor: 'ops' });
    await intake.rebuild(tag, 'ops').then(
      () => expect.fail('must refuse'),
      (err: unknown) => expect(err).to.be.instanceOf(ConflictError),
    );
    const again = await settled(tag);
    expect(again).to.include({ status: 'succeeded', sha: first.sha });
    expect(again.build!.startedAt > first.test!.finishedAt).to.equal(true);
    await intake.rebuild('v26.11.30.9', 'ops').then(
      () => expect.fail('must refuse'),
      (err: unknown) => expect(err).to.be.instanceOf(NotFoundError),
    );
    await intake.rebuild('v1;x', 'ops').then(
      () => expect.fail('must refuse'),
      (err: unknown) => expect(err).to.be.instanceOf(ValidationError),
    );
  });

  it('builds the recorded commit even after its tag moved', async () => {
    const tag = await repo.release('26.11.27.0');
    const recorded = await sha(tag);
    await repo.commitFile('VERSION', '26.11.27.1\n', 'a later VERSION');
    await simpleGit(repo.path).raw(['tag', '-f', tag, 'HEAD']);
    await store.createRelease(pendingRelease(tag, { sha: recorded, version: null, author: null }));
    const record = await pipeline.run(tag, new AbortController().signal);
    expect(record).to.include({ status: 'succeeded', sha: recorded, version: '26.11.27.0' });
  });

  it('fetches the mirror once per change, however many ask', async () => {
    const tag = await repo.release('26.11.27.0');
    const signal = new AbortController().signal;
    const { mirror } = pipeline;
    expect(await mirror.resolveTag(tag, signal)).to.equal(null);
    expect(await Promise.all([mirror.refresh(signal), mirror.refresh(signal), mirror.refresh(signal)])).to.deep.equal([
      true,
      false,
      false,
    ]);
    expect((await mirror.resolveTag(tag, signal))!.commit).to.equal(await sha(tag));
    expect(await mirror.refresh(signal)).to.equal(false);
    mirror.noteChange();
    mirror.noteChange();
    expect(await Promise.all([mirror.refresh(signal), mirror.refresh(signal)])).to.deep.equal([true, false]);
    expect(await mirror.hasCommit('0'.repeat(40), signal)).to.equal(false);
  });

  it('finds a tag pushed since the last fetch (it fetches first); an unknown one names the newest', async () => {
    const first = await repo.release('26.11.27.0');
    expect(await intake.lookupTag(first)).to.deep.equal({ inRepo: true, newest: [] });
    const pushedSince = await repo.release('26.11.27.1');
    await simpleGit(repo.path).addTag('not-a-release');
    expect((await intake.lookupTag(pushedSince)).inRepo, 'fetched before looking').to.equal(true);
    await store.createRelease({
      tag: 'v26.11.27.10',
      sha: null,
      version: null,
      author: null,
      status: 'failed',
      error: 'gone from the repo',
      build: null,
      test: null,
      artifactPath: null,
    });
    expect(await intake.lookupTag('v26.11.27.9')).to.deep.equal({
      inRepo: false,
      newest: ['v26.11.27.10', pushedSince, first],
    });
    // A malformed tag never reaches git.
    let refused: unknown = null;
    await intake.lookupTag('v1;x').catch((err: unknown) => (refused = err));
    expect(refused).to.be.instanceOf(ValidationError);
  });
});
