// The deployment ledger: the pure rules (what to end, what to open, who made a color serve) as
// tables, then the ledger against a real embedded store as the reconciler drives it.
import { expect } from 'chai';
import type { Color, Deployment, DesiredDoc, Revision } from '../common/types.js';
import { activatedBy, DeploymentLedger, ledgerChange, type Serving } from '../reconciler/ledger.js';
import { EmbeddedStore } from '../store/embedded.js';

const V1 = 'v26.11.27.0';
const V2 = 'v26.11.27.1';
const V3 = 'v26.11.27.2';

function entry(id: number, color: Color, tag: string, endedAt: string | null = null): Deployment {
  return {
    id,
    color,
    tag,
    version: tag.slice(1),
    revision: id,
    switchedBy: 'ana',
    source: 'api',
    startedAt: '2026-11-27T10:00:00.000Z',
    endedAt,
    endReason: null,
    gates: [],
    verdict: null,
  };
}

const serving = (color: Color, tag: string): Serving => ({ color, tag, version: tag.slice(1) });

function revision(
  number: number,
  active: Color | null,
  blue: string | null,
  green: string | null,
  author = 'ana',
): Revision {
  const doc: DesiredDoc = { active, colors: { blue: { tag: blue }, green: { tag: green } }, paused: false };
  return { number, doc, source: 'api', author, time: '2026-11-27T10:00:00.000Z' };
}

describe('deployment ledger: rules', () => {
  it('ledgerChange keeps what already serves, ends the rest with why, opens what is new', () => {
    const blue = entry(1, 'blue', V1);
    const green = entry(2, 'green', V2);
    const cases: Array<[string, Deployment[], Serving | null, ReturnType<typeof ledgerChange>]> = [
      ['first ever', [], serving('blue', V1), { keep: null, end: [], start: true }],
      ['the same again (a restart)', [blue], serving('blue', V1), { keep: blue, end: [], start: false }],
      ['a switch', [blue], serving('green', V2), { keep: null, end: [{ id: 1, reason: 'switched' }], start: true }],
      [
        'a new tag in place',
        [blue],
        serving('blue', V3),
        { keep: null, end: [{ id: 1, reason: 'replaced' }], start: true },
      ],
      ['nothing serves', [blue], null, { keep: null, end: [{ id: 1, reason: 'stopped' }], start: false }],
      ['nothing, and nothing did', [], null, { keep: null, end: [], start: false }],
      [
        'two left open by a crash',
        [green, blue],
        serving('green', V2),
        { keep: green, end: [{ id: 1, reason: 'switched' }], start: false },
      ],
    ];
    for (const [what, open, now, want] of cases) expect(ledgerChange(open, now), what).to.deep.equal(want);
  });

  it('activatedBy finds the revision that made the color serve, past later unrelated ones', () => {
    const history = [
      revision(5, 'green', V1, V2, 'cy'), // paused/unpaused or the other color: not what made green serve
      revision(4, 'green', V3, V2, 'bo'),
      revision(3, 'green', V1, V2, 'ana'),
      revision(2, 'blue', V1, V2, 'ana'),
      revision(1, 'blue', V1, null, 'ana'),
    ];
    const cases: Array<[string, Revision[], Color, string, number | null]> = [
      ['green at V2', history, 'green', V2, 3],
      ['blue at V1, asked for before green', history, 'blue', V1, 1],
      ['blue at V1, from older history', history.slice(3), 'blue', V1, 1],
      ['a newer revision that moved on already', [revision(6, 'blue', V1, V2), ...history], 'green', V2, 3],
      ['no history', [], 'blue', V1, null],
    ];
    for (const [what, revisions, color, tag, want] of cases)
      expect(activatedBy(revisions, color, tag)?.number ?? null, what).to.equal(want);
  });
});

describe('deployment ledger: against a real store', () => {
  let store: EmbeddedStore;
  beforeEach(async () => {
    store = new EmbeddedStore({ path: ':memory:' });
    await store.init();
  });
  afterEach(async () => {
    await store.close();
  });

  const apply = async (active: Color | null, blue: string | null, green: string | null, author: string) =>
    store.appendRevision({
      doc: { active, colors: { blue: { tag: blue }, green: { tag: green } }, paused: false },
      source: 'api',
      author,
    });

  it('records a switch with who made it, ends it on the next one, and writes nothing for a repeat', async () => {
    const first = await apply('blue', V1, null, 'ana');
    const ledger = new DeploymentLedger(store);
    await ledger.served(serving('blue', V1), first);
    await apply('blue', V1, V2, 'bo');
    const switchRevision = await apply('green', V1, V2, 'cy');
    await apply('green', V1, V2, 'dee'); // an unrelated later revision
    await ledger.served(serving('green', V2), switchRevision);
    await ledger.served(serving('green', V2), switchRevision);
    const [green, blue] = await store.listDeployments(10);
    expect(blue).to.deep.include({ color: 'blue', tag: V1, revision: 1, switchedBy: 'ana', endReason: 'switched' });
    expect(green).to.deep.include({ color: 'green', tag: V2, revision: 3, switchedBy: 'cy', endedAt: null });
    expect(await store.listDeployments(10)).to.have.length(2);
  });

  it('after a restart keeps the open entry when the same color and tag serve again', async () => {
    const r = await apply('blue', V1, null, 'ana');
    await new DeploymentLedger(store).served(serving('blue', V1), r);
    const before = await store.listDeployments(10);
    await new DeploymentLedger(store).served(serving('blue', V1), r);
    expect(await store.listDeployments(10)).to.deep.equal(before);
  });

  it('a write the store refused is made by the next flush', async () => {
    const r = await apply('blue', V1, null, 'ana');
    const ledger = new DeploymentLedger(store);
    await store.close();
    let failed: unknown = null;
    await ledger.served(serving('blue', V1), r).catch((err: unknown) => (failed = err));
    expect(failed).to.be.instanceOf(Error);
    await store.init();
    await apply('blue', V1, null, 'ana');
    await ledger.flush();
    expect((await store.openDeployments()).map((d) => [d.color, d.tag])).to.deep.equal([['blue', V1]]);
  });
});
