// The store port's all-or-nothing writes and login lockouts, once for every adapter (beside
// store-contract.ts): a change and the events that describe it are stored together or not at all,
// and a lockout's read-modify-write loses no count under concurrency.
import { expect } from 'chai';
import { DuplicateKeyError, NotFoundError, StaleRevisionError, ValidationError } from '../common/errors.js';
import type { DesiredDoc, LoginLockoutRecord, NewEvent } from '../common/types.js';
import type { Store } from '../store/store.js';

const DOC: DesiredDoc = { active: null, colors: { blue: { tag: null }, green: { tag: null } }, paused: false };

function lockout(name: string, failures: number, expiresInMs = 3_600_000): LoginLockoutRecord {
  const now = Date.now();
  return {
    name,
    failures,
    locks: 0,
    lockedUntil: new Date(0).toISOString(),
    lastFailureAt: new Date(now).toISOString(),
    expiresAt: new Date(now + expiresInMs).toISOString(),
  };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('expected the call to fail, it succeeded'),
    (err: unknown) => err,
  );
}

const event = (reason: string, message = reason): NewEvent => ({ reason, message, actor: 'ana' });

export function storeAtomicContract(name: string, make: () => Promise<Store>): void {
  describe(`store contract, all or nothing: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await make();
    });
    afterEach(async () => {
      await store.close();
    });
    const reasons = async (): Promise<string[]> => (await store.listEventsAfter(0, 100)).map((e) => e.reason);

    it('reports itself healthy when sound', () => {
      expect(store.health().state).to.equal('ok');
    });

    it('stores a revision with the events built from it, in order', async () => {
      const revision = await store.appendRevision({ doc: DOC, source: 'api', author: 'ana' }, (r) => [
        event('DesiredApplied', `revision ${r.number} applied`),
        event('Audited'),
      ]);
      const events = await store.listEventsAfter(0, 10);
      expect(events.map((e) => [e.reason, e.message, e.actor])).to.deep.equal([
        ['DesiredApplied', `revision ${revision.number} applied`, 'ana'],
        ['Audited', 'Audited', 'ana'],
      ]);
    });

    it('stores neither the revision nor any event when building the events fails', async () => {
      const err = await rejection(
        store.appendRevision({ doc: DOC, source: 'api', author: 'ana' }, () => {
          throw new ValidationError('event', 'cannot describe this revision');
        }),
      );
      expect(err).to.be.instanceOf(ValidationError);
      expect(await store.latestRevision()).to.equal(null);
      expect(await reasons()).to.deep.equal([]);
    });

    it('writes no event for a revision refused as stale', async () => {
      await store.appendRevision({ doc: DOC, source: 'api', author: 'ana' });
      const err = await rejection(
        store.appendRevision({ doc: DOC, source: 'api', author: 'bo', expected: 0 }, () => [event('Stale')]),
      );
      expect(err).to.be.instanceOf(StaleRevisionError);
      expect(await reasons()).to.deep.equal([]);
      expect((await store.listRevisions(10)).length).to.equal(1);
    });

    it('stores user changes with their events, and no event for a refused one', async () => {
      const ana = { username: 'ana', passwordHash: 'h', roles: ['admin' as const] };
      await store.createUser(ana, (u) => [event('UserCreated', `${u.username} created`)]);
      expect(await rejection(store.createUser(ana, () => [event('Twice')]))).to.be.instanceOf(DuplicateKeyError);
      await store.updateUser('ana', { roles: ['viewer'] }, (u) => [event('UserUpdated', u.roles.join(','))]);
      const unknown = store.updateUser('bo', { roles: ['viewer'] }, () => [event('Nobody')]);
      expect(await rejection(unknown)).to.be.instanceOf(NotFoundError);
      expect(await store.deleteUser('bo', [event('NotRemoved')])).to.equal(false);
      expect(await store.deleteUser('ana', [event('UserRemoved')])).to.equal(true);
      const events = await store.listEventsAfter(0, 10);
      expect(events.map((e) => [e.reason, e.message])).to.deep.equal([
        ['UserCreated', 'ana created'],
        ['UserUpdated', 'viewer'],
        ['UserRemoved', 'UserRemoved'],
      ]);
    });

    it('does not create the user when building its events fails', async () => {
      const failing = store.createUser({ username: 'cy', passwordHash: 'h', roles: ['viewer'] }, () => {
        throw new ValidationError('event', 'no');
      });
      expect(await rejection(failing)).to.be.instanceOf(ValidationError);
      expect(await store.getUser('cy')).to.equal(null);
    });

    it('stores a session with its events, and a logout event only when a session ended', async () => {
      const session = {
        id: 's-1',
        username: 'ana',
        createdAt: new Date().toISOString(),
        expiresAt: new Date(Date.now() + 60_000).toISOString(),
      };
      await store.createSession(session, [event('LoggedIn')]);
      expect(await rejection(store.createSession(session, [event('Again')]))).to.be.instanceOf(DuplicateKeyError);
      expect(await store.deleteSession('s-1', [event('LoggedOut')])).to.equal(true);
      expect(await store.deleteSession('s-1', [event('LoggedOutTwice')])).to.equal(false);
      expect(await reasons()).to.deep.equal(['LoggedIn', 'LoggedOut']);
    });

    describe('login lockouts', () => {
      it('creates, reads, replaces and deletes a name, with events in the same write', async () => {
        expect(await store.getLoginLockout('ana')).to.equal(null);
        const first = await store.updateLoginLockout(
          'ana',
          (current) => (expect(current).to.equal(null), lockout('ana', 1)),
          (written) => [event('Failed', String(written?.failures))],
        );
        expect(await store.getLoginLockout('ana')).to.deep.equal(first);
        const second = await store.updateLoginLockout('ana', (current) => lockout('ana', current!.failures + 1));
        expect(second?.failures).to.equal(2);
        expect(await store.getLoginLockout('ana')).to.deep.equal(second);
        expect(await store.getLoginLockout('bo')).to.equal(null);
        expect(await store.updateLoginLockout('ana', () => null)).to.equal(null);
        expect(await store.getLoginLockout('ana')).to.equal(null);
        expect((await store.listEventsAfter(0, 10)).map((e) => e.message)).to.deep.equal(['1']);
      });

      it('never returns an expired record, and an update starts it again from nothing', async () => {
        await store.updateLoginLockout('ana', () => lockout('ana', 9, -1000));
        expect(await store.getLoginLockout('ana')).to.equal(null);
        let seen: LoginLockoutRecord | null | undefined;
        await store.updateLoginLockout('ana', (current) => ((seen = current), lockout('ana', 1)));
        expect(seen).to.equal(null);
      });

      it('refuses a record of another name or with a bad count, and stores nothing', async () => {
        const wrongName = store.updateLoginLockout('ana', () => lockout('bo', 1));
        expect(await rejection(wrongName)).to.be.instanceOf(ValidationError);
        const negative = store.updateLoginLockout(
          'ana',
          () => lockout('ana', -1),
          () => [event('Bad')],
        );
        expect(await rejection(negative)).to.be.instanceOf(ValidationError);
        expect(await store.getLoginLockout('ana')).to.equal(null);
        expect(await store.getLoginLockout('bo')).to.equal(null);
        expect(await reasons()).to.deep.equal([]);
      });

      it('loses no failure when 20 updates of one name run at once', async () => {
        const updates = Array.from({ length: 20 }, () =>
          store.updateLoginLockout('ana', (current) => lockout('ana', (current?.failures ?? 0) + 1)),
        );
        await Promise.all(updates);
        expect((await store.getLoginLockout('ana'))?.failures).to.equal(20);
      });
    });
  });
}
