// The assembled loop (reconciler/loop.ts) on a manual clock, with real parts: the embedded store, the
// process driver and the proxy's Router. A pass that cannot read the store says PassFailed with the
// revision it attempted; the loop requeues itself on its timer until close(); a builder that throws
// still leaves a failed release record, its events in order, and wakes the loop.
import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { EventRecord, ReleaseStatus } from '../common/types.js';
import { parseConfig, type Config } from '../config/config.js';
import { DesiredStateService } from '../desired-state/revisions.js';
import { Router } from '../proxy/router.js';
import { finishedReason, recordCrashedBuild } from '../reconciler/builds.js';
import type { JobOutcome } from '../reconciler/jobs.js';
import { Loop } from '../reconciler/loop.js';
import type { PassResult } from '../reconciler/pass.js';
import type { ReleaseBuilder } from '../reconciler/ports.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';
import { ProcessDriver } from '../units/process-driver.js';
import { freePorts } from '../harness/ports.js';
import { ManualClock } from './harness/manual-clock.js';
import { pendingRelease } from './harness/records.js';

const TAG = 'v26.11.27.0';
/** min(reconcile.interval, app.health.interval): the health interval is the shorter one here. */
const REQUEUE_MS = 2_000;

/** A builder whose every run throws, as one would that lost its disk mid-way: no record is left. */
const throwingBuilder: ReleaseBuilder = {
  run: async () => {
    throw new Error('no space left on device');
  },
};

describe('loop: passes, requeues and builds on a manual clock (real store, driver and router)', function () {
  this.timeout(30_000);
  let root: string;
  let config: Config;
  let store: Store;
  let driver: ProcessDriver;
  let router: Router;
  let clock: ManualClock;
  let loop: Loop;
  /** Set by a test: the store's getRelease fails with this (and takes 40 ms on the loop's clock). */
  let getReleaseFails: string | null;
  let passes: PassResult[];

  before(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'hv-loop-'));
    const [blue, green] = await freePorts(2);
    config = parseConfig(
      `
app: { name: loop-${process.pid}, repo: ${path.join(root, 'no-repo')}, health: { interval: 2s } }
colors: { blue: { port: ${blue} }, green: { port: ${green} } }
listen: { public: '127.0.0.1:0', preview: false, admin: false }
root: ${root}
units: { driver: process }
store: { kind: embedded, path: ':memory:' }
reconcile: { interval: 1h }
`,
      root,
    );
    store = await openStore(config.store);
    // A release that failed its TEST: the desired state names it, so a pass plans nothing to run.
    await store.createRelease({ ...pendingRelease(TAG), status: 'failed', error: 'TEST exited 1' });
    await apply(false);
    driver = new ProcessDriver({ appName: config.app.name, stateDir: path.join(root, 'run') });
    router = new Router({ drainTimeoutMs: 1_000 });
  });
  beforeEach(() => {
    getReleaseFails = null;
    passes = [];
    clock = new ManualClock();
    loop = newLoop(throwingBuilder);
  });
  afterEach(() => loop.close());
  after(async () => {
    await driver?.close();
    await router?.close(1_000);
    await store?.close();
    await rm(root, { recursive: true, force: true });
  });

  function newLoop(builder: ReleaseBuilder): Loop {
    const faulty = new Proxy(store, {
      get: (target, key: keyof Store) => {
        if (key === 'getRelease' && getReleaseFails !== null) {
          const error = getReleaseFails;
          return () => {
            clock.advance(40);
            return Promise.reject(new Error(error));
          };
        }
        const value = target[key];
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const made = new Loop({ config, store: faulty, driver, router, builder, now: clock.now, timer: clock.timer });
    made.onPassFinished((result) => void passes.push(result));
    return made;
  }
  async function apply(paused: boolean): Promise<number> {
    const doc = { active: 'blue', colors: { blue: { tag: TAG }, green: { tag: null } }, paused };
    const result = await new DesiredStateService(store, config.app.tagPattern).apply(doc, {
      source: 'api',
      author: 'test',
    });
    return result.revision.number;
  }
  const reconciling = (): unknown => loop.status().conditions.find((c) => c.type === 'Reconciling');
  const eventsSince = async (id: number): Promise<EventRecord[]> =>
    (await store.listEventsAfter(id, 1_000)).filter((e) => e.actor === 'reconciler');
  const lastEventId = async (): Promise<number> => (await store.listRecentEvents(1))[0]?.id ?? 0;

  it('a pass that cannot read the store: PassFailed, the attempted revision ahead of the observed one', async () => {
    const first = await loop.trigger();
    const observed = first.revision!;
    expect(loop.status()).to.deep.include({ observedRevision: observed, lastAttemptedRevision: observed });
    expect(reconciling()).to.deep.include({ status: 'True', reason: 'PassSucceeded', lastTransitionTime: clock.iso() });

    const attempted = await apply(true);
    getReleaseFails = 'disk I/O error';
    const since = await lastEventId();
    clock.advance(500);
    const failed = await loop.trigger();
    expect(failed).to.deep.include({ revision: attempted, actions: [], waiting: 'disk I/O error' });
    expect(loop.status()).to.deep.include({
      observedRevision: observed,
      lastAttemptedRevision: attempted,
      paused: false,
      lastReconcileAt: clock.iso(),
      lastPass: { durationMs: 40, actions: [] },
    });
    expect(reconciling()).to.deep.equal({
      type: 'Reconciling',
      status: 'False',
      reason: 'PassFailed',
      message: 'disk I/O error',
      lastTransitionTime: clock.iso(),
    });
    expect((await eventsSince(since)).map((e) => `${e.reason}: ${e.message}`)).to.deep.equal([
      'PassFailed: reconcile pass failed: disk I/O error',
    ]);
    expect(passes, 'a failed pass is no finished pass for the listeners').to.have.length(1);

    getReleaseFails = null;
    clock.advance(500);
    await loop.trigger();
    expect(loop.status()).to.deep.include({
      observedRevision: attempted,
      lastAttemptedRevision: attempted,
      paused: true,
    });
    expect(reconciling()).to.deep.include({ status: 'True', reason: 'PassSucceeded', lastTransitionTime: clock.iso() });
    await apply(false);
  });

  it('requeues itself one interval after each pass, and close() stops it', async () => {
    await loop.trigger();
    expect(clock.pending()).to.deep.equal([REQUEUE_MS]);
    const requeued = new Promise<PassResult>((resolve) => {
      const off = loop.onPassFinished((result) => resolve((off(), result)));
    });
    clock.advance(REQUEUE_MS);
    expect((await requeued).status.lastReconcileAt).to.equal(clock.iso());
    expect(passes).to.have.length(2);

    await loop.close();
    expect(clock.pending()).to.deep.equal([]);
    clock.advance(60 * REQUEUE_MS);
    const afterClose = await loop.trigger();
    expect(afterClose).to.deep.include({ revision: null, actions: [], waiting: null });
    expect(passes, 'no pass after close()').to.have.length(2);
  });

  it('a builder that throws: a failed record, BuildQueued, Started, Failed in order; the loop wakes', async () => {
    const tag = 'v26.11.27.5';
    const since = await lastEventId();
    const finished = new Promise<[string, JobOutcome]>((resolve) => loop.onBuildFinished((...args) => resolve(args)));
    const woken = new Promise<void>((resolve) => loop.onPassFinished(() => resolve()));
    expect(loop.build(tag, 'a webhook release')).to.equal(true);
    expect(loop.build(tag, 'the same again'), 'queued already').to.equal(false);
    expect(await finished).to.deep.equal([tag, { status: 'failed', error: 'no space left on device', step: null }]);
    expect(await store.getRelease(tag)).to.deep.include({ status: 'failed', error: 'no space left on device' });
    const events = (await eventsSince(since)).filter((e) => e.data?.tag === tag);
    expect(events.map((e) => `${e.reason}: ${e.message}`)).to.deep.equal([
      `BuildQueued: build of ${tag} queued: a webhook release`,
      `BuildStarted: building ${tag}`,
      `BuildFailed: build of ${tag} failed: no space left on device`,
    ]);
    await woken;
    expect(loop.builds().has(tag)).to.equal(false);
  });

  it('after close() queues no build', async () => {
    await loop.close();
    expect(loop.build('v26.11.27.6', 'too late')).to.equal(false);
    expect(await store.getRelease('v26.11.27.6')).to.equal(null);
  });
});

describe('builds: the record and the event a build leaves', () => {
  let store: Store;
  before(async () => {
    store = await openStore({ kind: 'embedded', path: ':memory:' });
  });
  after(() => store.close());

  const table: Array<[string, ReleaseStatus | null, JobOutcome, ReleaseStatus | null]> = [
    ['no record, the builder threw', null, { status: 'failed', error: 'boom', step: null }, 'failed'],
    ['left building, the builder threw', 'building', { status: 'failed', error: 'boom', step: null }, 'failed'],
    ['left interrupted, the builder threw', 'interrupted', { status: 'failed', error: 'boom', step: null }, 'failed'],
    [
      'interrupted, as the builder said',
      'interrupted',
      { status: 'interrupted', error: null, step: null },
      'interrupted',
    ],
    ['succeeded before the builder threw', 'succeeded', { status: 'failed', error: 'boom', step: null }, 'succeeded'],
    [
      'rejected by the pipeline',
      'rejected',
      { status: 'rejected', error: 'VERSION mismatch', step: 'checkout' },
      'rejected',
    ],
  ];
  table.forEach(([what, before, outcome, expected], i) => {
    it(`keeps or writes the record: ${what}`, async () => {
      const tag = `v26.11.28.${i}`;
      if (before !== null) await store.createRelease({ ...pendingRelease(tag), status: before });
      await recordCrashedBuild(store, tag, outcome);
      const record = await store.getRelease(tag);
      expect(record?.status).to.equal(expected);
      if (before === null || (expected === 'failed' && before !== 'failed'))
        expect(record?.error).to.equal(outcome.error);
    });
  });

  it('names the event after the status the build left', () => {
    const reasons: Record<ReleaseStatus, string> = {
      succeeded: 'BuildSucceeded',
      interrupted: 'BuildInterrupted',
      failed: 'BuildFailed',
      rejected: 'BuildFailed',
      pending: 'BuildFailed',
      building: 'BuildFailed',
      testing: 'BuildFailed',
    };
    for (const [status, reason] of Object.entries(reasons))
      expect(finishedReason(status as ReleaseStatus), status).to.equal(reason);
  });
});
