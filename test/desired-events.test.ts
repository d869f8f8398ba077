// Every accepted revision is one event naming its source and what changed, stored by the revisions
// service with the revision itself, for every source alike.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { WouldStopTrafficError } from '../common/errors.js';
import type { EventRecord } from '../common/types.js';
import { DesiredStateService } from '../desired-state/revisions.js';
import { EmbeddedStore } from '../store/embedded.js';

const PATTERN = /^v\d{2}\.\d{2}\.\d{2}\.\d+$/;

describe('desired-state revisions as events (embedded store)', () => {
  let dir: string;
  let store: EmbeddedStore;
  let service: DesiredStateService;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'desired-events-'));
    store = new EmbeddedStore({ path: path.join(dir, 'hv.db') });
    await store.init();
    service = new DesiredStateService(store, PATTERN);
  });

  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const events = async (): Promise<EventRecord[]> => store.listEventsAfter(0, 100);

  it('records each new revision, whatever its source, as "revision N from SOURCE: what changed"', async () => {
    await service.apply({ active: 'blue', colors: { blue: { tag: 'v26.11.27.1' } } }, { source: 'api', author: 'ana' });
    await service.update((d) => ({ ...d, colors: { ...d.colors, green: { tag: 'v26.11.27.3' } }, paused: true }), {
      source: 'file',
      author: 'file:/etc/openhack/desired.yaml',
    });
    await service.update((d) => ({ ...d, active: 'green' }), { source: 'git@0123abcd', author: 'Ana <ana@x>' });
    const recorded = await events();
    expect(recorded.map((e) => [e.reason, e.actor, e.message])).to.deep.equal([
      ['DesiredChanged', 'ana', 'revision 1 from api: blue none -> v26.11.27.1, active none -> blue'],
      [
        'DesiredChanged',
        'file:/etc/openhack/desired.yaml',
        'revision 2 from file: green none -> v26.11.27.3, paused false -> true',
      ],
      ['DesiredChanged', 'Ana <ana@x>', 'revision 3 from git@0123abcd: active blue -> green'],
    ]);
    expect(recorded[1]!.data).to.deep.equal({ revision: 2, source: 'file', previous: 1 });
  });

  it("stores it with the revision, after the caller's own events; an unchanged or refused write: none", async () => {
    const audit = (reason: string) => () => [{ reason, message: 'asked by ana', actor: 'ana' }];
    await service.apply(
      { active: 'blue', colors: { blue: { tag: 'v26.11.27.1' } } },
      { source: 'api', author: 'ana', events: audit('DesiredApplied') },
    );
    await service.update((d) => d, { source: 'policy', author: 'policy', events: audit('Unchanged') });
    const refused = await service
      .apply({}, { source: 'api', author: 'ana', events: audit('Refused') })
      .catch((err: unknown) => err);
    expect(refused).to.be.instanceOf(WouldStopTrafficError);
    expect((await events()).map((e) => e.reason)).to.deep.equal(['DesiredApplied', 'DesiredChanged']);
    expect((await service.history(10)).map((r) => r.number)).to.deep.equal([1]);
  });
});
