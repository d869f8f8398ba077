// Every accepted revision is one event naming its source and what changed, written in one place
// for every source; a failed event write is logged and does not fail the revision.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { EventRecord, NewEvent } from '../common/types.js';
import { recordRevisions } from '../daemon/desired-events.js';
import { DesiredStateService } from '../desired-state/revisions.js';
import { EmbeddedStore } from '../store/embedded.js';
import { waitUntil } from './harness/wait.js';

const PATTERN = /^v\d{2}\.\d{2}\.\d{2}\.\d+$/;

/** A real store whose event log is broken (a full disk, say); revisions still work. */
class BrokenEventsStore extends EmbeddedStore {
  override appendEvent(event: NewEvent): Promise<EventRecord> {
    return Promise.reject(new Error(`no space left for ${event.reason}`));
  }
}

describe('desired-state revisions as events', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'desired-events-'));
  });

  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('records each new revision, whatever its source, as "revision N from SOURCE: what changed"', async () => {
    const store = new EmbeddedStore({ path: path.join(dir, 'hv.db') });
    await store.init();
    try {
      const service = new DesiredStateService(store, PATTERN);
      const stop = recordRevisions(service, store, () => undefined);
      await service.apply(
        { active: 'blue', colors: { blue: { tag: 'v26.11.27.1' } } },
        { source: 'api', author: 'ana' },
      );
      await service.update((d) => ({ ...d, colors: { ...d.colors, green: { tag: 'v26.11.27.3' } }, paused: true }), {
        source: 'file',
        author: 'file:/etc/openhack/desired.yaml',
      });
      await service.update((d) => d, { source: 'policy', author: 'policy' }); // unchanged: no revision, no event
      stop();
      const events = await waitUntil(
        async () => (await store.listEventsAfter(0, 100)).filter((e) => e.reason === 'DesiredChanged'),
        (list) => list.length === 2,
        { what: 'two DesiredChanged events' },
      );
      expect(events.map((e) => [e.actor, e.message])).to.deep.equal([
        ['ana', 'revision 1 from api: blue none -> v26.11.27.1, active none -> blue'],
        ['file:/etc/openhack/desired.yaml', 'revision 2 from file: green none -> v26.11.27.3, paused false -> true'],
      ]);
      expect(events[1]!.data).to.deep.equal({ revision: 2, source: 'file', previous: 1 });
    } finally {
      await store.close();
    }
  });

  it('a failed event write is logged and does not fail the revision', async () => {
    const store = new BrokenEventsStore({ path: path.join(dir, 'hv.db') });
    await store.init();
    try {
      const service = new DesiredStateService(store, PATTERN);
      const logged: string[] = [];
      recordRevisions(service, store, (line) => logged.push(line));
      const result = await service.apply(
        { colors: { blue: { tag: 'v26.11.27.1' } } },
        { source: 'api', author: 'ana' },
      );
      expect(result.changed).to.equal(true);
      expect((await store.latestRevision())!.number).to.equal(1);
      await waitUntil(
        async () => logged,
        (l) => l.length === 1,
        { what: 'the log line' },
      );
      expect(logged[0]).to.equal('revision 1 is stored, but its event was not: no space left for DesiredChanged');
    } finally {
      await store.close();
    }
  });
});
