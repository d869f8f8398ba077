import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { ConflictError, ValidationError, WouldStopTrafficError } from '../common/errors.js';
import { type DesiredDoc } from '../common/types.js';
import { DesiredStateService, type DesiredChange } from '../desired-state/revisions.js';
import { EmbeddedStore } from '../store/embedded.js';

const PATTERN = /^v\d{2}\.\d{2}\.\d{2}\.\d+$/;
const API = { source: 'api', author: 'alice' };

function doc(blue: string | null, green: string | null, active: DesiredDoc['active'] = null): DesiredDoc {
  return { active, colors: { blue: { tag: blue }, green: { tag: green } }, paused: false };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the promise to reject');
}

describe('desired-state revisions (embedded store)', () => {
  let dir: string;
  let file: string;
  let store: EmbeddedStore;
  let service: DesiredStateService;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'desired-revisions-'));
    file = path.join(dir, 'hypervisor.db');
    store = new EmbeddedStore({ path: file });
    await store.init();
    service = new DesiredStateService(store, PATTERN);
  });

  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  /**
   * A second host on the same database file. The embedded store does its work synchronously when
   * called (better-sqlite3), so a write started inside a mutator lands between our read and our append.
   */
  async function otherHost(): Promise<EmbeddedStore> {
    const other = new EmbeddedStore({ path: file });
    await other.init();
    return other;
  }

  it('writes the first revision with its source and author', async () => {
    expect(await service.current()).to.equal(null);
    const { revision, changed } = await service.apply(doc('v26.01.01.0', null, 'blue'), API);
    expect(changed).to.equal(true);
    expect(revision).to.include({ number: 1, source: 'api', author: 'alice' });
    expect(revision.doc).to.deep.equal(doc('v26.01.01.0', null, 'blue'));
    expect(await service.current()).to.deep.equal(revision);
  });

  it('validates first: an invalid document writes nothing', async () => {
    await service.apply(doc('v26.01.01.0', null, 'blue'), API);
    const err = await rejection(service.apply({ active: 'green', colors: { blue: { tag: 'v26.01.01.0' } } }, API));
    expect(err).to.be.instanceOf(ValidationError);
    expect((err as ValidationError).message).to.equal('active: green has no tag; a color must have a tag to be active');
    expect((await service.history(10)).map((r) => r.number)).to.deep.equal([1]);
  });

  it('writes no revision for an identical document', async () => {
    const first = await service.apply(doc('v26.01.01.0', null, 'blue'), API);
    const again = await service.apply(
      { active: 'blue', colors: { blue: { tag: 'v26.01.01.0' } } },
      { source: 'file', author: 'bob' },
    );
    expect(again).to.deep.equal({ revision: first.revision, changed: false });
    expect(await service.history(10)).to.have.length(1);
  });

  it('refuses a stale expected revision with ConflictError and writes nothing', async () => {
    await service.apply(doc('v26.01.01.0', null), { ...API, expected: 0 });
    await service.apply(doc('v26.01.01.0', 'v26.01.02.0'), { ...API, expected: 1 });
    const stale = await rejection(service.apply(doc('v26.01.03.0', null), { ...API, expected: 1 }));
    expect(stale).to.be.instanceOf(ConflictError);
    expect((stale as ConflictError).message).to.match(/revision 2, not 1/);
    // The caller's view is stale even when its document happens to equal the latest one.
    const identical = await rejection(service.apply(doc('v26.01.01.0', 'v26.01.02.0'), { ...API, expected: 1 }));
    expect(identical).to.be.instanceOf(ConflictError);
    expect((await service.current())?.number).to.equal(2);
    expect(await rejection(service.apply(doc(null, null), { ...API, expected: -1 }))).to.be.instanceOf(ValidationError);
  });

  it('refuses a change that would stop traffic, from apply and update alike, unless it is confirmed', async () => {
    await service.apply(doc('v26.01.01.0', null, 'blue'), API);
    const stop = await rejection(service.apply({}, { ...API, confirmOutageWith: 'say ?confirm=outage' }));
    expect(stop).to.be.instanceOf(WouldStopTrafficError);
    expect((stop as Error).message).to.match(/blue serves v26\.01\.01\.0 .* say \?confirm=outage$/);
    const viaUpdate = await rejection(service.update((d) => ({ ...d, active: null }), API));
    expect(viaUpdate).to.be.instanceOf(WouldStopTrafficError);
    expect((await service.history(10)).map((r) => r.number)).to.deep.equal([1]);

    const confirmed = await service.apply({}, { ...API, allowOutage: true });
    expect(confirmed.revision.doc).to.deep.equal(doc(null, null));
    await service.apply(doc('v26.01.01.0', null, 'blue'), API);
    // The document's own `allowOutage: true` confirms too, and is not stored.
    const inDoc = await service.apply({ allowOutage: true, colors: { blue: { tag: 'v26.01.01.0' } } }, API);
    expect(inDoc.revision.doc).to.deep.equal(doc('v26.01.01.0', null));
  });

  it('update reads, modifies and writes against the current revision', async () => {
    await service.apply(doc('v26.01.01.0', null, 'blue'), API);
    const stage = (d: DesiredDoc): DesiredDoc => ({ ...d, colors: { ...d.colors, green: { tag: 'v26.01.02.0' } } });
    const { revision, changed } = await service.update(stage, { source: 'api', author: 'stage' });
    expect(changed).to.equal(true);
    expect(revision.number).to.equal(2);
    expect(revision.doc).to.deep.equal(doc('v26.01.01.0', 'v26.01.02.0', 'blue'));
    expect((await service.update(stage, API)).changed).to.equal(false);
  });

  it('update starts from an empty document when there is no revision', async () => {
    let seen: DesiredDoc | null = null;
    const { revision } = await service.update((d) => {
      seen = structuredClone(d);
      d.colors.blue.tag = 'v26.01.01.0';
      return d;
    }, API);
    expect(seen).to.deep.equal(doc(null, null));
    expect(revision.doc.colors.blue.tag).to.equal('v26.01.01.0');
  });

  it('update redoes its change on top of a concurrent write from another host', async () => {
    const other = await otherHost();
    try {
      await service.apply(doc('v26.01.01.0', null, 'blue'), API);
      const bases: DesiredDoc[] = [];
      const { revision } = await service.update((d) => {
        bases.push(structuredClone(d));
        // The other host writes after our read and before our append: our first append conflicts.
        if (bases.length === 1)
          void other.appendRevision({ doc: { ...d, paused: true }, source: 'api', author: 'other' });
        return { ...d, colors: { ...d.colors, green: { tag: 'v26.01.02.0' } } };
      }, API);
      expect(bases).to.have.length(2);
      expect(bases[1]!.paused).to.equal(true);
      expect(revision.number).to.equal(3);
      expect(revision.doc).to.deep.equal({ ...doc('v26.01.01.0', 'v26.01.02.0', 'blue'), paused: true });
    } finally {
      await other.close();
    }
  });

  it('update gives up with ConflictError after its attempts are spent', async () => {
    const limited = new DesiredStateService(store, PATTERN, { maxAttempts: 3 });
    const other = await otherHost();
    try {
      let calls = 0;
      const err = await rejection(
        limited.update((d) => {
          calls++;
          void other.appendRevision({ doc: { ...d, paused: !d.paused }, source: 'api', author: 'other' });
          return { ...d, colors: { ...d.colors, blue: { tag: 'v26.01.01.0' } } };
        }, API),
      );
      expect(err).to.be.instanceOf(ConflictError);
      expect(calls).to.equal(3);
      expect((await service.history(10)).every((r) => r.author === 'other')).to.equal(true);
    } finally {
      await other.close();
    }
  });

  it('update writes nothing when the mutator throws or returns an invalid document', async () => {
    await service.apply(doc('v26.01.01.0', null, 'blue'), API);
    const refused = new Error('no such release');
    expect(
      await rejection(
        service.update(() => {
          throw refused;
        }, API),
      ),
    ).to.equal(refused);
    const invalid = await rejection(service.update((d) => ({ ...d, active: 'green' }), API));
    expect(invalid).to.be.instanceOf(ValidationError);
    expect(await service.history(10)).to.have.length(1);
  });

  it('tells listeners about each new revision, and only new ones', async () => {
    const changes: DesiredChange[] = [];
    const unsubscribe = service.onChange((c) => changes.push(c));
    await service.apply(doc('v26.01.01.0', null, 'blue'), API);
    await service.apply(doc('v26.01.01.0', null, 'blue'), API);
    await service.update(
      (d) => ({ ...d, colors: { ...d.colors, green: { tag: 'v26.01.02.0' } }, active: 'green' }),
      API,
    );
    unsubscribe();
    await service.apply(doc(null, null), { ...API, allowOutage: true });
    expect(changes.map((c) => [c.previous?.number ?? null, c.revision.number])).to.deep.equal([
      [null, 1],
      [1, 2],
    ]);
    expect(changes[1]!.lines).to.deep.equal(['green: none -> v26.01.02.0', 'active: blue -> green']);
  });

  it('a throwing listener neither fails the write nor stops other listeners', async () => {
    const reported: unknown[] = [];
    const withHandler = new DesiredStateService(store, PATTERN, { onListenerError: (err) => reported.push(err) });
    const seen: number[] = [];
    withHandler.onChange(() => {
      throw new Error('listener bug');
    });
    withHandler.onChange((c) => seen.push(c.revision.number));
    const { changed } = await withHandler.apply(doc('v26.01.01.0', null), API);
    expect(changed).to.equal(true);
    expect(seen).to.deep.equal([1]);
    expect((reported[0] as Error).message).to.equal('listener bug');
  });

  it('history lists the newest first, up to the limit', async () => {
    for (const tag of ['v26.01.01.0', 'v26.01.01.1', 'v26.01.01.2']) await service.apply(doc(tag, null), API);
    expect((await service.history(2)).map((r) => r.doc.colors.blue.tag)).to.deep.equal(['v26.01.01.2', 'v26.01.01.1']);
    expect(() => service.history(0)).to.throw(ValidationError, /limit/);
  });
});
