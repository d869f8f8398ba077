// The store contract against the embedded SQLite adapter, on real files in a temporary folder,
// plus what only a file can show: WAL mode, a created parent folder, and data that outlives a close.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { ConflictError } from '../common/errors.js';
import { EmbeddedStore } from '../store/embedded.js';
import { SCHEMA_VERSION } from '../store/embedded-schema.js';
import { openStore } from '../store/open-store.js';
import { storeArchiveContract } from './store-contract-archive.js';
import { storeAtomicContract } from './store-contract-atomic.js';
import { pendingRelease } from './harness/records.js';
import { storeContract } from './store-contract.js';
import { storeNotifyContract } from './store-contract-notify.js';

describe('store: embedded', () => {
  let dir: string;
  let files = 0;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'hypervisor-store-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const nextFile = (): string => path.join(dir, `store-${++files}`, 'hypervisor.db');

  storeContract('embedded (file)', () => openStore({ kind: 'embedded', path: nextFile() }));
  storeContract('embedded (:memory:)', () => openStore({ kind: 'embedded', path: ':memory:' }));
  storeAtomicContract('embedded (file)', () => openStore({ kind: 'embedded', path: nextFile() }));
  storeNotifyContract('embedded (file)', () => openStore({ kind: 'embedded', path: nextFile() }));
  storeArchiveContract('embedded (file)', () => openStore({ kind: 'embedded', path: nextFile() }));

  describe('on disk', () => {
    it('creates the parent folder and keeps the file in WAL mode', async () => {
      const file = nextFile();
      const store = await openStore({ kind: 'embedded', path: file });
      try {
        await store.appendRevision({
          doc: { active: null, colors: { blue: { tag: null }, green: { tag: null } }, paused: false },
          source: 'api',
          author: 'ana',
        });
        expect(existsSync(file)).to.equal(true);
        // A second, independent connection reads the mode recorded in the file itself.
        const probe = new Database(file, { readonly: true });
        try {
          expect(probe.pragma('journal_mode', { simple: true })).to.equal('wal');
        } finally {
          probe.close();
        }
      } finally {
        await store.close();
      }
    });

    it('keeps every kind of record across close and reopen', async () => {
      const file = nextFile();
      const first = await openStore({ kind: 'embedded', path: file });
      const revision = await first.appendRevision({
        doc: { active: 'blue', colors: { blue: { tag: 'v26.11.27.0' }, green: { tag: null } }, paused: true },
        source: 'api',
        author: 'ana',
      });
      const created = await first.createRelease(pendingRelease('v26.11.27.0', { sha: 'abc' }));
      const event = await first.appendEvent({ reason: 'Staged', message: 'staged v26.11.27.0', data: { n: 1 } });
      const user = await first.createUser({ username: 'ana', passwordHash: 'h', roles: ['admin'] });
      await first.close();

      const second = await openStore({ kind: 'embedded', path: file });
      try {
        expect(await second.latestRevision()).to.deep.equal(revision);
        expect(await second.getRelease('v26.11.27.0')).to.deep.equal(created);
        expect(await second.listEventsAfter(0, 10)).to.deep.equal([event]);
        expect(await second.getUser('ana')).to.deep.equal(user);
        expect((await second.appendEvent({ reason: 'Next', message: 'after reopen' })).id).to.be.above(event.id);
      } finally {
        await second.close();
      }
    });

    it('opens a file the previous build wrote: the ledger is a new table, the old action log is kept', async () => {
      const file = nextFile();
      mkdirSync(path.dirname(file), { recursive: true });
      const v1 = new Database(file);
      v1.exec(`CREATE TABLE deployments (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, color TEXT NOT NULL,
        tag TEXT, time TEXT NOT NULL, actor TEXT NOT NULL) STRICT`);
      v1.prepare('INSERT INTO deployments (kind, color, tag, time, actor) VALUES (?, ?, ?, ?, ?)').run(
        'switch',
        'blue',
        null,
        '2026-11-27T10:00:00.000Z',
        'reconciler',
      );
      v1.pragma('user_version = 1');
      v1.close();
      const store = await openStore({ kind: 'embedded', path: file });
      try {
        expect(await store.listDeployments(10)).to.deep.equal([]);
        const entry = await store.startDeployment({
          color: 'blue',
          tag: 'v26.11.27.0',
          version: '26.11.27.0',
          revision: 1,
          switchedBy: 'ana',
          source: 'api',
        });
        expect(await store.openDeployments()).to.deep.equal([entry]);
      } finally {
        await store.close();
      }
      const probe = new Database(file, { readonly: true });
      try {
        // Still version 1: going back to the previous build opens this file as before.
        expect(probe.pragma('user_version', { simple: true }))
          .to.equal(SCHEMA_VERSION)
          .and.to.equal(1);
        expect(probe.prepare('SELECT kind, color FROM deployments').all()).to.deep.equal([
          { kind: 'switch', color: 'blue' },
        ]);
      } finally {
        probe.close();
      }
    });

    it('shares revisions between two connections to one file, with If-Match across them', async () => {
      const file = nextFile();
      const a = new EmbeddedStore({ path: file });
      const b = new EmbeddedStore({ path: file });
      await a.init();
      await b.init();
      try {
        const doc = { active: null, colors: { blue: { tag: null }, green: { tag: null } }, paused: false };
        await a.appendRevision({ doc, source: 'host-a', author: 'ana', expected: 0 });
        expect(
          await rejectionOf(b.appendRevision({ doc, source: 'host-b', author: 'bo', expected: 0 })),
        ).to.be.instanceOf(ConflictError);
        expect((await b.appendRevision({ doc, source: 'host-b', author: 'bo', expected: 1 })).number).to.equal(2);
        expect((await a.latestRevision())?.source).to.equal('host-b');
      } finally {
        await a.close();
        await b.close();
      }
    });
  });
});

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected the call to fail, it succeeded');
    },
    (err: unknown) => err,
  );
}
