// The store's archive records (Store.archive) for every adapter, like store-contract.ts: what is
// queued, how an upload settles it, that an upload of an older generation settles nothing, and the
// reads of one day of deliveries and of the ledger that the daily export makes.
import { expect } from 'chai';
import { ValidationError } from '../common/errors.js';
import type { GithubDelivery } from '../common/types.js';
import type { Store } from '../store/store.js';

const LOCATION = { bucket: 'hv-logs', key: 'openhack/v26.11.27.0/build.log' };
const SHA = 'a'.repeat(64);

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail, it succeeded');
}

function delivery(deliveryId: string, receivedAt: string): GithubDelivery {
  return { deliveryId, event: 'push', payload: `{"id":"${deliveryId}"}`, receivedAt };
}

export function storeArchiveContract(name: string, make: () => Promise<Store>): void {
  describe(`store contract: archive records, ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await make();
    });
    afterEach(async () => {
      await store.close();
    });

    it('queues a pending first generation and settles it as uploaded with its location and hash', async () => {
      const queued = await store.archive.queue({ name: 'v26.11.27.0/build.log', kind: 'log', source: '/l/build.log' });
      expect(queued).to.deep.include({ state: 'pending', generation: 1, attempts: 0, location: null, sha256: null });
      expect(await store.archive.get('v26.11.27.0/build.log')).to.deep.equal(queued);
      const done = await store.archive.settle(queued.name, 1, {
        state: 'uploaded',
        location: LOCATION,
        sha256: SHA,
        size: 12,
      });
      expect(done).to.deep.include({ state: 'uploaded', location: LOCATION, sha256: SHA, size: 12, generation: 1 });
      expect(done!.uploadedAt).to.be.a('string');
      expect(await store.archive.get(queued.name)).to.deep.equal(done);
    });

    it('counts failed attempts with their cause, and marks a source that is gone as missing', async () => {
      const queued = await store.archive.queue({ name: 'v26.11.27.0/test.log', kind: 'log', source: '/l/test.log' });
      await store.archive.settle(queued.name, 1, { state: 'failed', error: 'connect ECONNREFUSED' });
      const twice = await store.archive.settle(queued.name, 1, { state: 'failed', error: 'socket hang up' });
      expect(twice).to.deep.include({ state: 'pending', attempts: 2, lastError: 'socket hang up' });
      const gone = await store.archive.settle(queued.name, 1, { state: 'missing', error: 'ENOENT' });
      expect(gone).to.deep.include({ state: 'missing', lastError: 'ENOENT' });
    });

    it('queues a name again as its next generation; an upload of the older one then settles nothing', async () => {
      const first = await store.archive.queue({ name: 'v26.11.27.0/build.log', kind: 'log', source: '/l/build.log' });
      await store.archive.settle(first.name, 1, { state: 'failed', error: 'down' });
      const second = await store.archive.queue({ name: first.name, kind: 'log', source: '/l/build.log' });
      expect(second).to.deep.include({ generation: 2, attempts: 0, lastError: null, state: 'pending' });
      const late = await store.archive.settle(first.name, 1, {
        state: 'uploaded',
        location: LOCATION,
        sha256: SHA,
        size: 1,
      });
      expect(late).to.equal(null);
      expect(await store.archive.get(first.name)).to.deep.equal(second);
      expect(await store.archive.settle('no/such.log', 1, { state: 'failed', error: 'x' })).to.equal(null);
    });

    it('gives each of concurrent queues of one name its own generation', async () => {
      const entry = { name: 'deliveries/2026-11-27.jsonl', kind: 'deliveries' as const, source: '2026-11-27' };
      const all = await Promise.all(Array.from({ length: 5 }, () => store.archive.queue(entry)));
      expect(all.map((o) => o.generation).sort()).to.deep.equal([1, 2, 3, 4, 5]);
    });

    it('lists by state and kind, greatest name first, at most limit', async () => {
      for (const day of ['2026-11-25', '2026-11-26', '2026-11-27']) {
        await store.archive.queue({ name: `ledger/${day}.jsonl`, kind: 'ledger', source: day });
      }
      const log = await store.archive.queue({ name: 'v26.11.27.0/build.log', kind: 'log', source: '/l/b.log' });
      await store.archive.settle(log.name, 1, { state: 'uploaded', location: LOCATION, sha256: SHA, size: 3 });
      const names = async (filter: Parameters<Store['archive']['list']>[0], limit = 10): Promise<string[]> =>
        (await store.archive.list(filter, limit)).map((o) => o.name);
      expect(await names({ kind: 'ledger' }, 1)).to.deep.equal(['ledger/2026-11-27.jsonl']);
      expect(await names({ state: 'pending' })).to.deep.equal([
        'ledger/2026-11-27.jsonl',
        'ledger/2026-11-26.jsonl',
        'ledger/2026-11-25.jsonl',
      ]);
      expect(await names({ state: 'uploaded' })).to.deep.equal(['v26.11.27.0/build.log']);
      expect(await names({})).to.have.length(4);
      expect(await names({}, 0)).to.deep.equal([]);
    });

    it('refuses an unsafe name, an unknown kind or state, and a range that is no time', async () => {
      for (const bad of ['../etc/passwd', '/abs.log', 'a//b', 'a/../b', '']) {
        const err = await rejection(store.archive.queue({ name: bad, kind: 'log', source: '/x' }));
        expect(err, bad).to.be.instanceOf(ValidationError);
      }
      const kind = 'logs' as unknown as 'log';
      expect(await rejection(store.archive.queue({ name: 'a.log', kind, source: '/x' }))).to.be.instanceOf(
        ValidationError,
      );
      const state = 'done' as unknown as 'uploaded';
      expect(await rejection(store.archive.list({ state }, 10))).to.be.instanceOf(ValidationError);
      const range = { from: 'yesterday', to: new Date().toISOString() };
      expect(await rejection(store.archive.deliveries(range, null, 10))).to.be.instanceOf(ValidationError);
      expect(await store.archive.list({}, 10)).to.deep.equal([]);
    });

    it('reads the deliveries of a day in order, page after page, and none of the days around it', async () => {
      const day = { from: '2026-11-27T00:00:00.000Z', to: '2026-11-28T00:00:00.000Z' };
      const inside = [
        delivery('b', '2026-11-27T00:00:00.000Z'),
        delivery('a', '2026-11-27T10:00:00.000Z'),
        delivery('c', '2026-11-27T10:00:00.000Z'),
        delivery('d', '2026-11-27T23:59:59.999Z'),
      ];
      const outside = [delivery('e', '2026-11-26T23:59:59.999Z'), delivery('f', '2026-11-28T00:00:00.000Z')];
      for (const d of [...outside, ...inside].reverse()) await store.insertGithubDelivery(d);
      expect(await store.archive.deliveries(day, null, 10)).to.deep.equal(inside);
      const first = await store.archive.deliveries(day, null, 2);
      expect(first).to.deep.equal(inside.slice(0, 2));
      const last = first.at(-1)!;
      const cursor = { receivedAt: last.receivedAt, deliveryId: last.deliveryId };
      expect(await store.archive.deliveries(day, cursor, 10)).to.deep.equal(inside.slice(2));
    });

    it('reads the ledger entries that started or ended within a range', async () => {
      const before = new Date(Date.now() - 1000).toISOString();
      const open = async (revision: number): ReturnType<Store['startDeployment']> =>
        store.startDeployment({
          color: 'blue',
          tag: 'v26.11.27.0',
          version: null,
          revision,
          switchedBy: 'a',
          source: 'api',
        });
      const first = await open(1);
      const second = await open(2);
      const ended = await store.endDeployment(first.id, 'replaced');
      const after = new Date(Date.now() + 1000).toISOString();
      expect(await store.archive.deployments({ from: before, to: after }, 10)).to.deep.equal([ended, second]);
      expect(await store.archive.deployments({ from: before, to: after }, 1)).to.deep.equal([ended]);
      const past = { from: '2020-01-01T00:00:00.000Z', to: before };
      expect(await store.archive.deployments(past, 10)).to.deep.equal([]);
    });
  });
}
