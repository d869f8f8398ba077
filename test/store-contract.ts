// The store port's behaviour, once, for every adapter (hono's common.case.test.ts habit): each
// adapter's test file calls storeContract with a factory of fresh, initialised stores. Tests observe
// what a store holds afterwards, never which calls were made.
import { expect } from 'chai';
import { ConflictError, DuplicateKeyError, NotFoundError, ValidationError } from '../common/errors.js';
import type {
  Color,
  DesiredDoc,
  GithubDelivery,
  NewDeployment,
  ReleaseRecord,
  Session,
  StepResult,
} from '../common/types.js';
import type { Store } from '../store/store.js';
import { pendingRelease } from './harness/records.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function desired(active: Color | null, blue: string | null = null, green: string | null = null): DesiredDoc {
  return { active, colors: { blue: { tag: blue }, green: { tag: green } }, paused: false };
}

const release = (tag: string): Omit<ReleaseRecord, 'createdAt' | 'updatedAt'> => pendingRelease(tag);

const buildStep: StepResult = {
  exitCode: 0,
  signal: null,
  timedOut: false,
  durationMs: 1234,
  logPath: '/var/openhack/logs/v26.11.27.0/build.log',
  startedAt: '2026-11-27T10:00:00.000Z',
  finishedAt: '2026-11-27T10:00:01.234Z',
};

function delivery(deliveryId: string, payload = '{"ref":"refs/tags/v26.11.27.0"}'): GithubDelivery {
  return { deliveryId, event: 'create', payload, receivedAt: new Date().toISOString() };
}

function session(id: string, expiresInMs: number): Session {
  return {
    id,
    username: 'ana',
    createdAt: new Date().toISOString(),
    expiresAt: new Date(Date.now() + expiresInMs).toISOString(),
  };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail, it succeeded');
}

export function storeContract(name: string, make: () => Promise<Store>): void {
  describe(`store contract: ${name}`, () => {
    let store: Store;
    let open: Store | null = null;
    beforeEach(async () => {
      store = open = await make();
    });
    afterEach(async () => {
      await open?.close();
      open = null;
    });

    describe('desired revisions', () => {
      it('starts empty, numbers revisions 1, 2, 3 and lists them newest first', async () => {
        expect(await store.latestRevision()).to.equal(null);
        expect(await store.listRevisions(10)).to.deep.equal([]);
        const first = await store.appendRevision({ doc: desired('blue', 'v26.11.27.0'), source: 'api', author: 'ana' });
        const second = await store.appendRevision({
          doc: desired('blue', 'v26.11.27.0', 'v26.11.27.1'),
          source: 'file',
          author: 'bo',
        });
        const third = await store.appendRevision({
          doc: desired('green', null, 'v26.11.27.1'),
          source: 'git@abc',
          author: 'cy',
        });
        expect([first.number, second.number, third.number]).to.deep.equal([1, 2, 3]);
        expect(second).to.deep.include({
          doc: desired('blue', 'v26.11.27.0', 'v26.11.27.1'),
          source: 'file',
          author: 'bo',
        });
        expect(second.time).to.match(ISO);
        expect(await store.latestRevision()).to.deep.equal(third);
        expect(await store.getRevision(2)).to.deep.equal(second);
        expect(await store.getRevision(4)).to.equal(null);
        expect(await store.listRevisions(2)).to.deep.equal([third, second]);
        expect(await store.listRevisions(0)).to.deep.equal([]);
      });

      it('appends on a matching If-Match and refuses a stale one without writing', async () => {
        expect(
          (await store.appendRevision({ doc: desired(null), source: 'api', author: 'ana', expected: 0 })).number,
        ).to.equal(1);
        expect(
          await rejection(store.appendRevision({ doc: desired('blue'), source: 'api', author: 'ana', expected: 0 })),
        ).to.be.instanceOf(ConflictError);
        expect(
          (await store.appendRevision({ doc: desired('blue'), source: 'api', author: 'ana', expected: 1 })).number,
        ).to.equal(2);
        expect(
          await rejection(store.appendRevision({ doc: desired('green'), source: 'api', author: 'bo', expected: 1 })),
        ).to.be.instanceOf(ConflictError);
        expect((await store.listRevisions(10)).map((r) => r.number)).to.deep.equal([2, 1]);
        expect((await store.latestRevision())?.doc).to.deep.equal(desired('blue'));
      });

      it('lets exactly one of two concurrent appends with the same If-Match win', async () => {
        await store.appendRevision({ doc: desired(null), source: 'api', author: 'ana' });
        const results = await Promise.allSettled([
          store.appendRevision({ doc: desired('blue'), source: 'api', author: 'ana', expected: 1 }),
          store.appendRevision({ doc: desired('green'), source: 'api', author: 'bo', expected: 1 }),
        ]);
        const won = results.filter((r) => r.status === 'fulfilled');
        const lost = results.filter((r) => r.status === 'rejected');
        expect(won).to.have.length(1);
        expect(lost).to.have.length(1);
        expect(lost[0]!.reason).to.be.instanceOf(ConflictError);
        expect(await store.latestRevision()).to.deep.equal(won[0]!.value);
        expect((await store.listRevisions(10)).map((r) => r.number)).to.deep.equal([2, 1]);
      });

      it('gives concurrent appends without If-Match distinct consecutive numbers', async () => {
        const appends = [0, 1, 2, 3, 4].map((i) =>
          store.appendRevision({ doc: desired(null), source: `writer-${i}`, author: 'ana' }),
        );
        const numbers = (await Promise.all(appends)).map((r) => r.number);
        expect([...numbers].sort((a, b) => a - b)).to.deep.equal([1, 2, 3, 4, 5]);
        expect((await store.listRevisions(10)).map((r) => r.number)).to.deep.equal([5, 4, 3, 2, 1]);
      });

      it('refuses a negative limit, afterId or If-Match', async () => {
        expect(await rejection(store.listRevisions(-1))).to.be.instanceOf(ValidationError);
        expect(await rejection(store.listEventsAfter(-1, 10))).to.be.instanceOf(ValidationError);
        expect(
          await rejection(store.appendRevision({ doc: desired(null), source: 'api', author: 'ana', expected: -1 })),
        ).to.be.instanceOf(ValidationError);
        expect(await store.latestRevision()).to.equal(null);
      });
    });

    describe('releases', () => {
      it('creates a release with its times and reads it back', async () => {
        const created = await store.createRelease(release('v26.11.27.0'));
        expect(created).to.deep.include(release('v26.11.27.0'));
        expect(created.createdAt).to.match(ISO);
        expect(created.updatedAt).to.equal(created.createdAt);
        expect(await store.getRelease('v26.11.27.0')).to.deep.equal(created);
        expect(await store.getRelease('v26.11.27.9')).to.equal(null);
      });

      it('refuses a duplicate tag and keeps the first record', async () => {
        const first = await store.createRelease(release('v26.11.27.0'));
        const err = await rejection(store.createRelease({ ...release('v26.11.27.0'), status: 'failed', sha: 'ffff' }));
        expect(err).to.be.instanceOf(DuplicateKeyError);
        expect((err as DuplicateKeyError).key).to.equal('tag');
        expect(await store.getRelease('v26.11.27.0')).to.deep.equal(first);
      });

      it('updates only the patched fields, and refuses an unknown tag', async () => {
        const created = await store.createRelease(release('v26.11.27.0'));
        const patched = await store.updateRelease('v26.11.27.0', {
          status: 'succeeded',
          build: buildStep,
          artifactPath: '/var/openhack/artifacts/v26.11.27.0/26.11.27.0',
          sha: undefined,
        });
        expect(patched).to.deep.include({
          ...release('v26.11.27.0'),
          status: 'succeeded',
          build: buildStep,
          artifactPath: '/var/openhack/artifacts/v26.11.27.0/26.11.27.0',
          createdAt: created.createdAt,
        });
        expect(Date.parse(patched.updatedAt)).to.be.at.least(Date.parse(created.createdAt));
        expect(await store.getRelease('v26.11.27.0')).to.deep.equal(patched);
        expect(await rejection(store.updateRelease('v26.11.27.9', { status: 'failed' }))).to.be.instanceOf(
          NotFoundError,
        );
        expect(await store.getRelease('v26.11.27.9')).to.equal(null);
      });

      it('lists releases newest first and deletes them', async () => {
        for (const tag of ['v26.11.27.0', 'v26.11.27.1', 'v26.11.27.10', 'v26.11.27.2'])
          await store.createRelease(release(tag));
        expect((await store.listReleases(10)).map((r) => r.tag)).to.deep.equal([
          'v26.11.27.2',
          'v26.11.27.10',
          'v26.11.27.1',
          'v26.11.27.0',
        ]);
        expect((await store.listReleases(2)).map((r) => r.tag)).to.deep.equal(['v26.11.27.2', 'v26.11.27.10']);
        await store.deleteRelease('v26.11.27.10');
        await store.deleteRelease('v26.11.27.99');
        expect(await store.getRelease('v26.11.27.10')).to.equal(null);
        expect((await store.listReleases(10)).map((r) => r.tag)).to.deep.equal([
          'v26.11.27.2',
          'v26.11.27.1',
          'v26.11.27.0',
        ]);
      });
    });

    describe('deployments (the ledger)', () => {
      const served = (color: Color, tag: string, revision: number, switchedBy = 'ana'): NewDeployment => ({
        color,
        tag,
        version: tag.slice(1),
        revision,
        switchedBy,
        source: 'api',
      });

      it('opens entries with their times, lists them newest first and the open ones apart', async () => {
        const blue = await store.startDeployment(served('blue', 'v26.11.27.0', 1));
        expect(blue).to.deep.include({
          ...served('blue', 'v26.11.27.0', 1),
          endedAt: null,
          endReason: null,
          gates: [],
          verdict: null,
        });
        expect(blue.startedAt).to.match(ISO);
        const green = await store.startDeployment(served('green', 'v26.11.27.1', 3, 'bo'));
        expect(green.id).to.be.above(blue.id);
        expect(await store.listDeployments(10)).to.deep.equal([green, blue]);
        expect(await store.listDeployments(1)).to.deep.equal([green]);
        expect(await store.listDeployments(0)).to.deep.equal([]);
        expect(await store.openDeployments()).to.deep.equal([green, blue]);
      });

      it('ends an open entry once, with its reason, and leaves an ended or unknown one alone', async () => {
        const blue = await store.startDeployment(served('blue', 'v26.11.27.0', 1));
        const green = await store.startDeployment(served('green', 'v26.11.27.1', 2));
        const ended = await store.endDeployment(blue.id, 'switched');
        expect(ended).to.deep.include({ ...blue, endReason: 'switched', endedAt: ended!.endedAt });
        expect(ended!.endedAt).to.match(ISO);
        expect(Date.parse(ended!.endedAt!)).to.be.at.least(Date.parse(blue.startedAt));
        expect(await store.endDeployment(blue.id, 'stopped'), 'already ended').to.equal(null);
        expect(await store.endDeployment(9999, 'stopped'), 'no such entry').to.equal(null);
        expect(await store.openDeployments()).to.deep.equal([green]);
        expect(await store.listDeployments(10)).to.deep.equal([green, ended]);
      });

      it('refuses a second entry for the same revision, color and tag, and keeps the first', async () => {
        const first = await store.startDeployment(served('blue', 'v26.11.27.0', 1));
        const err = await rejection(store.startDeployment(served('blue', 'v26.11.27.0', 1, 'bo')));
        expect(err).to.be.instanceOf(DuplicateKeyError);
        expect((err as DuplicateKeyError).key).to.equal('deployment');
        const again = await store.startDeployment(served('blue', 'v26.11.27.0', 2));
        expect(await store.listDeployments(10)).to.deep.equal([again, first]);
      });

      it("records a gate's result once per gate, its verdict and a rollback's end, with its events", async () => {
        const blue = await store.startDeployment(served('blue', 'v26.11.27.0', 1));
        const green = await store.startDeployment(served('green', 'v26.11.27.1', 2));
        const smoke = { name: 'smoke', result: 'passed' as const, verdict: 'SMOKE exit 0', measured: { exitCode: 0 } };
        expect(await store.recordGate(green.id, { gate: smoke })).to.deep.include({ gates: [smoke], endedAt: null });
        const verdict = 'error rate 37.5% (150 of 400) > 1% over 41 s';
        const verify = { name: 'verify', result: 'failed' as const, verdict, measured: { requests: 400, errors: 150 } };
        const rolledBack = await store.recordGate(green.id, { gate: verify, verdict, end: 'rolled_back' }, (d) => [
          { reason: 'RolledBack', message: d.verdict ?? '', data: { deployment: d.id } },
        ]);
        expect(rolledBack).to.deep.include({ gates: [smoke, verify], verdict, endReason: 'rolled_back' });
        expect(rolledBack!.endedAt).to.match(ISO);
        const again = { ...verify, result: 'passed' as const, verdict: 'fine' };
        const later = await store.recordGate(green.id, { gate: again, end: 'switched' });
        expect(later, 'an ended entry keeps its end').to.deep.include({
          gates: [smoke, again],
          verdict,
          endReason: 'rolled_back',
          endedAt: rolledBack!.endedAt,
        });
        expect(await store.recordGate(9999, { gate: smoke }, () => [{ reason: 'Nope', message: '' }])).to.equal(null);
        expect(await store.openDeployments()).to.deep.equal([blue]);
        expect(await store.listDeployments(1)).to.deep.equal([later]);
        const events = await store.listRecentEvents(10);
        expect(events.map((e) => [e.reason, e.data?.deployment])).to.deep.equal([['RolledBack', green.id]]);
      });

      it('keeps the gates an entry opens with (those judged before the switch)', async () => {
        const smoke = { name: 'smoke', result: 'passed' as const, verdict: 'SMOKE exit 0', measured: { exitCode: 0 } };
        const blue = await store.startDeployment({ ...served('blue', 'v26.11.27.0', 1), gates: [smoke] });
        expect(blue).to.deep.include({ gates: [smoke], verdict: null, endedAt: null });
        expect(await store.listDeployments(1)).to.deep.equal([blue]);
      });

      it('lets exactly one of two hosts record the same move at once', async () => {
        const results = await Promise.allSettled([
          store.startDeployment(served('green', 'v26.11.27.1', 4, 'ana')),
          store.startDeployment(served('green', 'v26.11.27.1', 4, 'bo')),
        ]);
        expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
        expect(await store.openDeployments()).to.have.length(1);
      });
    });

    describe('events', () => {
      it('assigns increasing ids and fills the optional fields', async () => {
        const plain = await store.appendEvent({ reason: 'PassStarted', message: 'reconcile pass' });
        const full = await store.appendEvent({
          reason: 'Switched',
          message: 'traffic moved to green',
          color: 'green',
          actor: 'ana',
          data: { from: 'blue', revision: 7, tags: ['v26.11.27.1'], nested: { ok: true } },
        });
        expect(plain).to.deep.include({ reason: 'PassStarted', message: 'reconcile pass', color: null, data: null });
        expect(plain.actor).to.be.a('string').and.not.equal('');
        expect(plain.time).to.match(ISO);
        expect(full.id).to.be.above(plain.id);
        expect(await store.listRecentEvents(10)).to.deep.equal([plain, full]);
      });

      it('lists events after an id, oldest first, at most limit', async () => {
        const events = [];
        for (let i = 0; i < 5; i++) events.push(await store.appendEvent({ reason: 'Tick', message: `tick ${i}` }));
        expect(await store.listEventsAfter(0, 100)).to.deep.equal(events);
        expect(await store.listEventsAfter(events[1]!.id, 2)).to.deep.equal(events.slice(2, 4));
        expect(await store.listEventsAfter(events[4]!.id, 10)).to.deep.equal([]);
        expect(await store.listEventsAfter(0, 0)).to.deep.equal([]);
      });

      it('numbers overlapping appends in the order they were called (the sequence is causal)', async () => {
        const writes = Array.from({ length: 20 }, (_, i) =>
          store.appendEvent({ reason: 'Tick', message: `tick ${i}` }),
        );
        const events = await Promise.all(writes);
        const ids = events.map((e) => e.id);
        expect(ids).to.deep.equal([...ids].sort((a, b) => a - b));
        expect(new Set(ids).size).to.equal(20);
        expect((await store.listEventsAfter(0, 100)).map((e) => e.message)).to.deep.equal(events.map((e) => e.message));
      });

      it('lists the newest events, oldest first', async () => {
        const events = [];
        for (let i = 0; i < 4; i++) events.push(await store.appendEvent({ reason: 'Tick', message: `tick ${i}` }));
        expect(await store.listRecentEvents(2)).to.deep.equal(events.slice(2));
        expect(await store.listRecentEvents(10)).to.deep.equal(events);
      });
    });

    describe('github deliveries', () => {
      it('keeps the first copy of a delivery and reports later ones as duplicates', async () => {
        const first = delivery('d-1');
        expect(await store.insertGithubDelivery(first)).to.deep.equal({ duplicate: false });
        expect(await store.insertGithubDelivery(delivery('d-1', '{"replayed":true}'))).to.deep.equal({
          duplicate: true,
        });
        expect(await store.getGithubDelivery('d-1')).to.deep.equal(first);
        expect(await store.getGithubDelivery('d-2')).to.equal(null);
      });

      it('reports exactly one of 20 concurrent copies as new', async () => {
        const copies = Array.from({ length: 20 }, (_, i) =>
          store.insertGithubDelivery(delivery('d-race', `{"copy":${i}}`)),
        );
        const results = await Promise.all(copies);
        expect(results.filter((r) => !r.duplicate)).to.have.length(1);
        const stored = await store.getGithubDelivery('d-race');
        expect(stored?.payload).to.match(/^\{"copy":\d+\}$/);
      });
    });

    describe('hyperusers', () => {
      it('creates a user once and reads it back', async () => {
        const ana = await store.createUser({ username: 'ana', passwordHash: 'scrypt$1$salt$hash', roles: ['admin'] });
        expect(ana).to.deep.include({ username: 'ana', passwordHash: 'scrypt$1$salt$hash', roles: ['admin'] });
        expect(ana.createdAt).to.match(ISO);
        expect(await store.getUser('ana')).to.deep.equal(ana);
        expect(await store.getUser('bo')).to.equal(null);
        const err = await rejection(store.createUser({ username: 'ana', passwordHash: 'other', roles: ['viewer'] }));
        expect(err).to.be.instanceOf(DuplicateKeyError);
        expect((err as DuplicateKeyError).key).to.equal('username');
        expect(await store.getUser('ana')).to.deep.equal(ana);
      });

      it('updates a password and roles, and refuses an unknown user', async () => {
        const ana = await store.createUser({ username: 'ana', passwordHash: 'old', roles: ['viewer'] });
        const updated = await store.updateUser('ana', { roles: ['operator', 'admin'] });
        expect(updated).to.deep.include({
          username: 'ana',
          passwordHash: 'old',
          roles: ['operator', 'admin'],
          createdAt: ana.createdAt,
        });
        const rehashed = await store.updateUser('ana', { passwordHash: 'new' });
        expect(await store.getUser('ana')).to.deep.equal(rehashed);
        expect(rehashed.roles).to.deep.equal(['operator', 'admin']);
        expect(await rejection(store.updateUser('bo', { passwordHash: 'x' }))).to.be.instanceOf(NotFoundError);
        expect(await store.getUser('bo')).to.equal(null);
      });

      it('lists users by name and deletes them', async () => {
        for (const username of ['cy', 'ana', 'bo'])
          await store.createUser({ username, passwordHash: 'h', roles: ['viewer'] });
        expect((await store.listUsers()).map((u) => u.username)).to.deep.equal(['ana', 'bo', 'cy']);
        expect(await store.deleteUser('bo')).to.equal(true);
        expect(await store.deleteUser('bo')).to.equal(false);
        expect(await store.getUser('bo')).to.equal(null);
        expect((await store.listUsers()).map((u) => u.username)).to.deep.equal(['ana', 'cy']);
      });
    });

    describe('sessions', () => {
      it('returns a live session until it is deleted', async () => {
        const live = session('s-live', 3_600_000);
        await store.createSession(live);
        expect(await store.getSession('s-live')).to.deep.equal(live);
        expect(await rejection(store.createSession(session('s-live', 60_000)))).to.be.instanceOf(DuplicateKeyError);
        expect(await store.deleteSession('s-live')).to.equal(true);
        expect(await store.deleteSession('s-live')).to.equal(false);
        expect(await store.getSession('s-live')).to.equal(null);
      });

      it('never returns a session whose expiresAt is past, even before a purge', async () => {
        await store.createSession(session('s-old', -1000));
        await store.createSession(session('s-now', 0));
        expect(await store.getSession('s-old')).to.equal(null);
        expect(await store.getSession('s-now')).to.equal(null);
      });

      it('purges expired sessions and keeps live ones', async () => {
        await store.createSession(session('s-old-1', -60_000));
        await store.createSession(session('s-old-2', -1));
        const live = session('s-live', 3_600_000);
        await store.createSession(live);
        const purged = await store.purgeExpiredSessions();
        // MongoDB's TTL monitor may remove expired sessions by itself at any moment, before the purge.
        if (store.kind === 'embedded') expect(purged).to.equal(2);
        else expect(purged).to.be.at.most(2);
        expect(await store.purgeExpiredSessions()).to.equal(0);
        expect(await store.getSession('s-live')).to.deep.equal(live);
      });
    });
  });
}
