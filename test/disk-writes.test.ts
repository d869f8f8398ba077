// Writes onto a full disk, piece by piece, on a real 512 KiB tmpfs: a step's log, an atomic file
// replacement, the embedded store, the disk watch's status condition and events, and doctor's disk
// check. Each refusal is a WriteFailedError naming the path and the cause, never a crash, and
// nothing is half-written. Needs root to mount; says why it is skipped otherwise.
import { expect } from 'chai';
import { randomInt } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../common/atomic-write.js';
import { environSweep } from '../common/containment.js';
import type { Condition } from '../common/status.js';
import { WriteFailedError } from '../common/write-failure.js';
import { parseConfig } from '../config/config.js';
import { DiskWatch } from '../daemon/disk-watch.js';
import { checkDisk } from '../host/doctor-checks.js';
import { fullDiskNote } from '../reconciler/pipeline/disk-full.js';
import { recoverBuilds } from '../reconciler/pipeline/recovery.js';
import { runStep, type StepRun } from '../reconciler/pipeline/step.js';
import { EmbeddedStore } from '../store/embedded.js';
import { scratchDir } from '../harness/daemon-process.js';
import { processesMatching } from './harness/processes.js';
import { mountTmpfs, whyNoTmpfs, type Tmpfs } from './harness/tmpfs.js';

const NO_SPACE = 'no space left on device at';

describe('writes on a full disk (a real tmpfs)', function () {
  this.timeout(60_000);
  let scratch: { dir: string; remove(): Promise<void> };
  let disk: Tmpfs | null = null;

  before(async function () {
    scratch = await scratchDir('hv-disk-writes-');
    const why = await whyNoTmpfs(scratch.dir);
    if (why !== null) {
      console.log(`      skipped: ${why}`);
      this.skip();
    }
    disk = await mountTmpfs(path.join(scratch.dir, 'disk'));
  });
  afterEach(async () => {
    for (const name of (await readdir(disk!.dir).catch(() => [])) as string[]) {
      await rm(path.join(disk!.dir, name), { recursive: true, force: true });
    }
  });
  after(async () => {
    await disk?.unmount();
    await scratch?.remove();
  });

  /** Runs `yes <needle>` as a step logging onto the tmpfs; a 60 s timeout it must never reach. */
  async function floodingStep(needle: string): Promise<StepRun> {
    return runStep({
      name: 'BUILD',
      command: 'yes',
      args: [needle],
      cwd: scratch.dir,
      timeoutMs: 60_000,
      killGraceMs: 1_000,
      logPath: path.join(disk!.dir, 'v1', 'build.log'),
      logCapBytes: 5 * 1024 * 1024,
      signal: new AbortController().signal,
      containment: environSweep,
    });
  }

  it('stops a step whose log meets a full disk at once, and reports the path and the cause', async () => {
    await disk!.fill();
    const needle = `full-${randomInt(100_000, 999_999)}`;
    const run = await floodingStep(needle);
    expect(run.writeFailure).to.be.instanceOf(WriteFailedError);
    expect(run.writeFailure).to.include({ path: path.join(disk!.dir, 'v1', 'build.log'), writeCause: 'ENOSPC' });
    expect(run.writeFailure!.message).to.contain(`${NO_SPACE} ${disk!.dir}/v1/build.log; fix: free space`);
    expect(run).to.include({ aborted: false, startError: null });
    expect(run.result.timedOut).to.equal(false);
    expect(await processesMatching(needle)).to.deep.equal([]);
  });

  it('stops a step that floods the disk full as it writes, the same way', async () => {
    const needle = `flood-${randomInt(100_000, 999_999)}`;
    const run = await floodingStep(needle);
    expect(run.writeFailure?.writeCause).to.equal('ENOSPC');
    expect(run.result.durationMs).to.be.below(30_000);
    expect(await disk!.freeBytes()).to.equal(0);
    expect(await processesMatching(needle)).to.deep.equal([]);
  });

  it('refuses an atomic replacement on a full disk, keeping the old file and leaving no temp file', async () => {
    const file = path.join(disk!.dir, 'desired.yaml');
    await writeFile(file, 'active: blue\n');
    await disk!.fill();
    const failed = await writeFileAtomic(file, 'active: green\n'.repeat(1000)).then(
      () => null,
      (err: unknown) => err,
    );
    expect(failed).to.be.instanceOf(WriteFailedError);
    expect(failed).to.include({ path: file, code: 'insufficient_storage' });
    expect(await readFile(file, 'utf8')).to.equal('active: blue\n');
    expect((await readdir(disk!.dir)).sort()).to.deep.equal(['.filler', 'desired.yaml']);
  });

  it('says a read-only disk in its own words (write_failed), with a fix that is not about space', async () => {
    const file = path.join(disk!.dir, 'unit.service');
    await disk!.readOnly(true);
    try {
      const failed = await writeFileAtomic(file, '[Unit]\n').then(
        () => null,
        (err: unknown) => err,
      );
      expect(failed).to.be.instanceOf(WriteFailedError);
      expect(failed).to.include({ code: 'write_failed', writeCause: 'EROFS', noSpace: false });
      expect((failed as Error).message).to.equal(
        `read-only file system at ${file}; fix: check the disk of ${file} (dmesg): it fails or was remounted read-only`,
      );
    } finally {
      await disk!.readOnly(false);
    }
  });

  it('makes the embedded store refuse writes naming its file (WriteFailedError), and take them with room', async () => {
    const file = path.join(disk!.dir, 'state', 'hypervisor.db');
    const store = new EmbeddedStore({ path: file });
    await store.init();
    try {
      const append = (i: number): Promise<unknown> =>
        store.appendRevision({
          doc: { active: null, colors: { blue: { tag: null }, green: { tag: null } }, paused: i % 2 === 0 },
          source: 'api',
          author: 'test',
        });
      await append(0);
      await disk!.fill();
      let failure: unknown = null;
      // WAL pages freed by a checkpoint may take a few more writes; the first refusal is what counts.
      for (let i = 1; i <= 200 && failure === null; i++)
        failure = await append(i).then(
          () => null,
          (err: unknown) => err,
        );
      expect(failure).to.be.instanceOf(WriteFailedError);
      expect((failure as WriteFailedError).message).to.contain(`${NO_SPACE} ${file}`);
      const latest = await store.latestRevision();
      expect(latest, 'reads go on').to.not.equal(null);
      await disk!.free();
      await append(latest!.number + 1);
      expect((await store.latestRevision())!.number).to.equal(latest!.number + 1);
    } finally {
      await store.close();
    }
  });

  it('watches free space: low is a False DiskSpace condition and one DiskLow; room again is DiskOk', async () => {
    const conditions: Array<Omit<Condition, 'lastTransitionTime'>> = [];
    const events: Array<{ reason: string; data?: Record<string, unknown> | null }> = [];
    const lines: string[] = [];
    const watch = new DiskWatch({
      dirs: [scratch.dir, disk!.dir],
      threshold: { minFreeBytes: 64 * 1024, minFreePercent: 10 },
      everyMs: 60_000,
      report: (condition) => conditions.push(condition),
      event: async (event) => void events.push(event),
      log: (line) => lines.push(line),
    });
    await watch.start();
    try {
      expect(conditions.at(-1)).to.include({ type: 'DiskSpace', status: 'True', reason: 'Ok' });
      await disk!.fill();
      await watch.check();
      await watch.check();
      expect(conditions.at(-1)).to.include({ status: 'False', reason: 'Low' });
      expect(conditions.at(-1)!.message).to.contain(
        `${disk!.dir}: 0 B free of 512 KiB (0%): below disk: 64 KiB or 10%`,
      );
      expect(events.map((e) => e.reason)).to.deep.equal(['DiskLow']);
      expect(events[0]!.data).to.deep.include({ path: disk!.dir, freeBytes: 0, totalBytes: 512 * 1024 });
      await disk!.free();
      await watch.check();
      expect(conditions.at(-1)).to.include({ status: 'True' });
      expect(events.map((e) => e.reason)).to.deep.equal(['DiskLow', 'DiskOk']);
      expect(lines.join('\n')).to.contain(`disk space low: ${disk!.dir}`);
    } finally {
      await watch.close();
    }
  });

  it('fails an unfinished build found at start while a build folder is full, instead of running it again', async () => {
    const store = new EmbeddedStore({ path: ':memory:' });
    await store.init();
    try {
      const draft = {
        sha: null,
        version: null,
        author: null,
        error: null,
        build: null,
        test: null,
        artifactPath: null,
      };
      await store.createRelease({ ...draft, tag: 'v26.11.27.0', status: 'building' });
      await disk!.fill();
      const queued: string[] = [];
      await recoverBuilds({
        store,
        enqueue: (tag) => void queued.push(tag),
        event: async (event) => void (await store.appendEvent({ actor: 'test', ...event })),
        fullDisk: () => fullDiskNote([disk!.dir]),
      });
      expect(queued).to.deep.equal([]);
      const record = await store.getRelease('v26.11.27.0');
      expect(record).to.include({ status: 'failed' });
      expect(record!.error).to.contain(`the disk it writes to is full: ${NO_SPACE} ${disk!.dir} (0 B free of 512 KiB)`);
      expect((await store.listEventsAfter(0, 10)).map((e) => e.reason)).to.deep.equal(['BuildFailed']);
    } finally {
      await store.close();
    }
  });

  it("fails doctor's disk check on the full file system with the fix, by the config's threshold", async () => {
    const config = parseConfig(
      `app: { name: demo, repo: ./backend }\nroot: ${disk!.dir}\nstore: { path: ${scratch.dir}/state/hv.db }\n` +
        'disk: { minFree: 64kb, minFreePercent: 10 }\n',
      scratch.dir,
    );
    expect(await checkDisk(config)).to.include({ name: 'disk', status: 'ok' });
    await disk!.fill();
    const check = await checkDisk(config);
    expect(check).to.include({ status: 'fail' });
    expect(check.detail).to.contain(`${disk!.dir}: 0 B free of 512 KiB (0%): below disk: 64 KiB or 10%`);
    expect(check.fix).to.contain(`free space on the file system of ${disk!.dir}`);
  });
});
