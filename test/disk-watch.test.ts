// The daemon's disk watch without a small disk at hand: the space is given by an injected measure,
// the status condition and the events (through the daemon's EventLog into a real store) are real.
// Crossing under either bound writes DiskLow and makes DiskSpace a problem, once; DiskOk needs a
// tenth more than the line. The same on a real full tmpfs: test/disk-writes.test.ts.
import { expect } from 'chai';
import type { FsSpace } from '../common/disk-space.js';
import type { Condition } from '../common/status.js';
import { DiskWatch } from '../daemon/disk-watch.js';
import { EventLog } from '../store/event-log.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';

const GiB = 1024 ** 3;

describe('daemon: the disk watch', () => {
  let store: Store;
  let conditions: Array<Omit<Condition, 'lastTransitionTime'>>;
  let lines: string[];
  beforeEach(async () => {
    store = await openStore({ kind: 'embedded', path: ':memory:' });
    conditions = [];
    lines = [];
  });
  afterEach(async () => {
    await store.close();
  });

  const watchOf = (measure: () => Promise<FsSpace[]>): DiskWatch =>
    new DiskWatch({
      dirs: ['/var/openhack', '/var/openhack/logs'],
      threshold: { minFreeBytes: GiB, minFreePercent: 5 },
      everyMs: 60_000,
      report: (condition) => conditions.push(condition),
      event: (event) => new EventLog(store, 'hypervisor').record(event),
      log: (line) => lines.push(line),
      measure,
    });
  const space = (freeBytes: number, totalBytes = 100 * GiB): FsSpace => ({
    path: '/var/openhack',
    paths: ['/var/openhack', '/var/openhack/logs'],
    freeBytes,
    totalBytes,
    freeInodes: 1000,
  });
  const reasons = async (): Promise<string[]> => (await store.listEventsAfter(0, 10)).map((e) => e.reason);

  it('writes DiskLow under either bound, once, and DiskOk with a tenth more than the line', async () => {
    let free = 50 * GiB;
    const watch = watchOf(async () => [space(free)]);
    await watch.check();
    expect(conditions.at(-1)).to.deep.equal({
      type: 'DiskSpace',
      status: 'True',
      reason: 'Ok',
      message: '/var/openhack: 50.0 GiB free of 100.0 GiB (50%)',
    });
    free = 4.5 * GiB; // over 1 GiB, but under 5% of 100 GiB
    await watch.check();
    await watch.check();
    expect(await reasons()).to.deep.equal(['DiskLow']);
    expect(conditions.at(-1)).to.include({ status: 'False', reason: 'Low' });
    expect(conditions.at(-1)!.message).to.match(
      /^\/var\/openhack: 4\.5 GiB free of 100\.0 GiB \(4%\): below disk: 1\.0 GiB or 5%; .*fix: free space/,
    );
    free = 5.2 * GiB; // over the line (5 GiB), not by a tenth: still low
    await watch.check();
    expect(await reasons()).to.deep.equal(['DiskLow']);
    expect(conditions.at(-1)).to.include({ status: 'False' });
    free = 5.6 * GiB;
    await watch.check();
    const events = await store.listEventsAfter(0, 10);
    expect(events.map((e) => e.reason)).to.deep.equal(['DiskLow', 'DiskOk']);
    expect(events[0]).to.include({ actor: 'hypervisor' });
    expect(events[0]!.data).to.deep.equal({
      path: '/var/openhack',
      freeBytes: 4.5 * GiB,
      totalBytes: 100 * GiB,
      threshold: 5 * GiB,
    });
    expect(conditions.at(-1)).to.include({ status: 'True' });
    await watch.close();
  });

  it('counts the absolute bound on a small disk, and a file system without inodes as low', async () => {
    let spaces = [space(0.9 * GiB, 4 * GiB)];
    const watch = watchOf(async () => spaces);
    await watch.check();
    expect(conditions.at(-1)!.message).to.contain('below disk: 1.0 GiB or 5%');
    spaces = [{ ...space(3 * GiB, 4 * GiB), freeInodes: 0 }];
    await watch.check();
    expect(conditions.at(-1)).to.include({ status: 'False' });
    expect(conditions.at(-1)!.message).to.contain('no inodes left');
    expect(await reasons()).to.deep.equal(['DiskLow']);
  });

  it('keeps going when the space cannot be measured, saying why once, and keeps the last condition', async () => {
    let fail = false;
    const watch = watchOf(async () => {
      if (fail) throw new Error('EACCES: permission denied, stat /var/openhack');
      return [space(50 * GiB)];
    });
    await watch.check();
    fail = true;
    await watch.check();
    await watch.check();
    expect(lines).to.deep.equal([
      'hypervisor: cannot measure free disk space: EACCES: permission denied, stat /var/openhack',
    ]);
    expect(conditions).to.have.length(1);
    expect(await reasons()).to.deep.equal([]);
  });
});
