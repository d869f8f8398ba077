// The daemon's disk watch: crossing into low space writes DiskLow, and out of it (with room to
// spare) DiskOk, each once; the space is measured by an injected function, the events are real.
import { expect } from 'chai';
import { GiB } from '../common/disk-space.js';
import { DiskWatch } from '../daemon/disk-watch.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';

describe('daemon: the disk watch', () => {
  let store: Store;
  beforeEach(async () => {
    store = await openStore({ kind: 'embedded', path: ':memory:' });
  });
  afterEach(async () => {
    await store.close();
  });

  it('writes DiskLow when free space falls below the line, and DiskOk once it is clearly back', async () => {
    let free = 50 * GiB;
    const watch = new DiskWatch({ dir: '/var/openhack', store, measure: async () => ({ free, total: 100 * GiB }) });
    const reasons = async (): Promise<string[]> => (await store.listEventsAfter(0, 10)).map((e) => e.reason);
    await watch.check();
    expect(await reasons()).to.deep.equal([]);
    free = 1.5 * GiB; // under 2 GiB
    await watch.check();
    await watch.check();
    expect(await reasons()).to.deep.equal(['DiskLow']);
    free = 5.5 * GiB; // above 2 GiB but under 5% + a quarter (6.25 GiB): still low
    await watch.check();
    expect(await reasons()).to.deep.equal(['DiskLow']);
    free = 7 * GiB;
    await watch.check();
    const events = await store.listEventsAfter(0, 10);
    expect(events.map((e) => e.reason)).to.deep.equal(['DiskLow', 'DiskOk']);
    expect(events[0]!.message).to.equal('disk space low: 1.5 GiB free under /var/openhack (2%)');
    expect(events[0]!.data).to.deep.equal({ path: '/var/openhack', free: 1.5 * GiB, total: 100 * GiB });
    await watch.close();
  });

  it('keeps going when the space cannot be measured, saying why', async () => {
    const lines: string[] = [];
    const watch = new DiskWatch({
      dir: '/nope',
      store,
      measure: async () => {
        throw new Error('ENOENT: no such file or directory');
      },
      log: (line) => lines.push(line),
    });
    await watch.check();
    expect(lines).to.deep.equal(['hypervisor: disk watch: ENOENT: no such file or directory']);
    expect(await store.listEventsAfter(0, 10)).to.deep.equal([]);
  });
});
