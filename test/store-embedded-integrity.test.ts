// The embedded store's file as an operator meets it: private modes, a write whose event fails rolls
// back whole, a damaged page found at open turns every write into a refusal, and a file that is no
// database stops the open with one line naming it.
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { StoreDamagedError } from '../common/errors.js';
import type { DesiredDoc } from '../common/types.js';
import { checkStoreFile } from '../store/embedded-health.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';
import { corruptTablePage } from './harness/corrupt-store.js';

const DOC: DesiredDoc = { active: null, colors: { blue: { tag: null }, green: { tag: null } }, paused: false };
const mode = (file: string): number => statSync(file).mode & 0o777;

describe('store: embedded file integrity and modes', () => {
  let dir: string;
  let files = 0;
  const open: Store[] = [];
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'hypervisor-integrity-'));
  });
  afterEach(async () => {
    for (const store of open.splice(0)) await store.close();
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const nextFile = (): string => path.join(dir, `store-${++files}`, 'hypervisor.db');
  const storeAt = async (file: string): Promise<Store> => {
    const store = await openStore({ kind: 'embedded', path: file });
    open.push(store);
    return store;
  };
  const rejection = (promise: Promise<unknown>): Promise<unknown> =>
    promise.then(
      () => expect.fail('expected the call to fail'),
      (err: unknown) => err,
    );

  it('creates the file, its -wal and -shm 0600 in a 0700 folder, and narrows a file left 0644', async () => {
    const file = nextFile();
    const store = await storeAt(file);
    await store.appendRevision({ doc: DOC, source: 'api', author: 'ana' });
    expect(mode(path.dirname(file))).to.equal(0o700);
    for (const f of [file, `${file}-wal`, `${file}-shm`]) expect(mode(f), f).to.equal(0o600);
    await store.close();
    chmodSync(file, 0o644);
    await storeAt(file);
    expect(mode(file)).to.equal(0o600);
  });

  it('rolls back the revision when SQLite refuses the event written with it', async () => {
    const file = nextFile();
    const store = await storeAt(file);
    const db = new Database(file);
    db.exec("CREATE TRIGGER refuse_event BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'no event'); END");
    db.close();
    const failed = store.appendRevision({ doc: DOC, source: 'api', author: 'ana' }, () => [
      { reason: 'DesiredApplied', message: 'revision 1 applied' },
    ]);
    expect(await rejection(failed)).to.have.property('code', 'SQLITE_CONSTRAINT_TRIGGER');
    expect(await store.latestRevision()).to.equal(null);
  });

  it('finds a damaged events page at open: unhealthy, writes refused with the fix, other reads served', async () => {
    const file = nextFile();
    const first = await storeAt(file);
    await first.appendRevision({ doc: DOC, source: 'api', author: 'ana' });
    for (let i = 0; i < 50; i++) await first.appendEvent({ reason: 'Tick', message: `tick ${i}`.padEnd(200, '.') });
    await first.close();
    open.splice(0);
    corruptTablePage(file, 'events');

    const store = await storeAt(file);
    const health = store.health();
    expect(health.state).to.equal('damaged');
    expect(health)
      .to.have.property('fix')
      .that.matches(/hyperctl restore BACKUP/);
    expect(health.detail).to.contain(file);
    const write = await rejection(store.appendRevision({ doc: { ...DOC, paused: true }, source: 'api', author: 'bo' }));
    expect(write).to.be.instanceOf(StoreDamagedError);
    expect((write as Error).message).to.match(new RegExp(`the store ${file} is damaged .*hyperctl restore BACKUP`));
    expect(
      await rejection(store.createUser({ username: 'bo', passwordHash: 'h', roles: ['viewer'] })),
    ).to.be.instanceOf(StoreDamagedError);
    expect((await store.latestRevision())?.number).to.equal(1);
    expect(await rejection(store.listEventsAfter(0, 100))).to.be.instanceOf(StoreDamagedError);
    expect(checkStoreFile(file)).to.deep.include({ ok: false });
  });

  it('stops the open of a file that is no database with one line naming it and the fix', async () => {
    const file = nextFile();
    await storeAt(file).then((s) => s.close());
    open.splice(0);
    writeFileSync(file, 'this is not a database, just text that happens to be long enough to look like one'.repeat(64));
    const err = await rejection(openStore({ kind: 'embedded', path: file }));
    expect(err).to.be.instanceOf(StoreDamagedError);
    const message = (err as Error).message;
    expect(message).to.not.contain('\n');
    expect(message).to.match(
      new RegExp(`^the store ${file} is damaged \\(file is not a database\\); .*hyperctl restore`),
    );
    expect(existsSync(file)).to.equal(true);
  });
});
