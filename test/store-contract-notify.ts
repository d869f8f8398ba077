// The store port's notification tables, once for every adapter (beside store-contract.ts): the
// notifier's cursor only moves forward; a message is written once per key, also when two writers
// race; a due message is taken for a try by one taker only, and a lease that ran out frees it.
import { expect } from 'chai';
import { ValidationError } from '../common/errors.js';
import type { NewNotification, NotifyMessage } from '../common/notifications.js';
import type { Store } from '../store/store.js';

const T0 = Date.parse('2026-11-27T10:00:00.000Z');
const at = (ms: number): string => new Date(T0 + ms).toISOString();

function message(tag: string): NotifyMessage {
  return {
    schema: 1,
    kind: 'test_failed',
    title: `[demo] test_failed ${tag}`,
    summary: `build of ${tag} failed`,
    app: 'demo',
    host: 'h1',
    tag,
    color: null,
    step: 'test',
    verdict: null,
    measured: null,
    answers: null,
    log: { path: `/var/logs/${tag}/test.log`, lines: ['boom'] },
    command: `hyper-cli logs ${tag} --test`,
    event: { id: 7, reason: 'BuildFailed', time: at(0) },
  };
}

function outgoing(key: string, overrides: Partial<NewNotification> = {}): NewNotification {
  return {
    key,
    target: 'hook',
    kind: 'test_failed',
    role: 'problem',
    subject: 'releases',
    eventId: 7,
    deliveryId: `delivery-${key}`,
    state: 'pending',
    notBefore: null,
    message: message('v26.11.27.2'),
    createdAt: at(0),
    ...overrides,
  };
}

export function storeNotifyContract(name: string, make: () => Promise<Store>): void {
  describe(`store contract, notifications: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await make();
    });
    afterEach(async () => {
      await store.close();
    });

    it('keeps a cursor that starts unset and only moves forward', async () => {
      expect(await store.notifyCursor()).to.equal(null);
      await store.advanceNotifyCursor(5);
      await store.advanceNotifyCursor(3);
      expect(await store.notifyCursor()).to.equal(5);
      await store.advanceNotifyCursor(9);
      expect(await store.notifyCursor()).to.equal(9);
      const err = await store.advanceNotifyCursor(-1).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(ValidationError);
    });

    it('writes a message once per key, also when two writers race, and reads it back whole', async () => {
      const results = await Promise.all([store.addNotification(outgoing('a')), store.addNotification(outgoing('a'))]);
      expect(results.map((r) => r.duplicate).sort()).to.deep.equal([false, true]);
      const [only, ...rest] = await store.listNotifications(10);
      expect(rest).to.deep.equal([]);
      expect(only).to.deep.include({ key: 'a', target: 'hook', state: 'pending', attempts: 0, leaseUntil: null });
      expect(only!.message).to.deep.equal(message('v26.11.27.2'));
    });

    it('refuses a state it does not know or a time not in UTC ISO form, writing nothing', async () => {
      const bad = outgoing('b', { state: 'sent' as never });
      expect(await store.addNotification(bad).catch((e: unknown) => e)).to.be.instanceOf(ValidationError);
      const local = outgoing('c', { createdAt: '2026-11-27T11:00:00+01:00' });
      expect(await store.addNotification(local).catch((e: unknown) => e)).to.be.instanceOf(ValidationError);
      expect(await store.listNotifications(10)).to.deep.equal([]);
    });

    it('finds the newest message about a subject, leaving cancelled ones and other roles out when asked', async () => {
      await store.addNotification(outgoing('p1', { kind: 'degraded', subject: 'color:blue', createdAt: at(0) }));
      await store.addNotification(
        outgoing('a1', { kind: 'recovered', role: 'answer', subject: 'color:blue', createdAt: at(1000) }),
      );
      await store.addNotification(
        outgoing('p2', { kind: 'degraded', subject: 'color:blue', state: 'held', notBefore: at(600_000) }),
      );
      expect((await store.lastNotification('hook', 'color:blue'))?.key).to.equal('p2');
      expect((await store.lastNotification('hook', 'color:blue', ['answer']))?.key).to.equal('a1');
      const held = (await store.lastNotification('hook', 'color:blue'))!;
      const cancelled = await store.settleNotification(held.id, { state: 'cancelled' }, ['held']);
      expect(cancelled).to.deep.include({ state: 'cancelled' });
      expect((await store.lastNotification('hook', 'color:blue'))?.key).to.equal('a1');
      expect(await store.lastNotification('hook', 'color:green')).to.equal(null);
      expect(await store.lastNotification('other', 'color:blue')).to.equal(null);
    });

    it('gives a due message to one taker at a time; a settled try comes back at its notBefore', async () => {
      await store.addNotification(outgoing('d'));
      await store.addNotification(outgoing('later', { state: 'held', notBefore: at(60_000) }));
      const due = await store.dueNotifications('hook', at(0), 10);
      expect(due.map((n) => n.key)).to.deep.equal(['d']);
      const [first, second] = await Promise.all([
        store.claimNotification(due[0]!.id, at(0), at(30_000)),
        store.claimNotification(due[0]!.id, at(0), at(30_000)),
      ]);
      const taken = [first, second].filter((n) => n !== null);
      expect(taken).to.have.length(1);
      expect(taken[0]).to.deep.include({ attempts: 1, leaseUntil: at(30_000), state: 'pending' });
      expect(await store.dueNotifications('hook', at(1000), 10)).to.deep.equal([]);
      const retry = await store.settleNotification(
        taken[0]!.id,
        { state: 'pending', notBefore: at(5000), lastError: 'HTTP 500' },
        ['pending'],
      );
      expect(retry).to.deep.include({ leaseUntil: null, lastError: 'HTTP 500', notBefore: at(5000), attempts: 1 });
      expect(await store.dueNotifications('hook', at(4999), 10)).to.deep.equal([]);
      expect((await store.dueNotifications('hook', at(5000), 10)).map((n) => n.key)).to.deep.equal(['d']);
      expect((await store.dueNotifications('hook', at(60_000), 10)).map((n) => n.key)).to.deep.equal(['d', 'later']);
      expect(await store.dueNotifications('other', at(60_000), 10)).to.deep.equal([]);
    });

    it('frees a message whose taker never settled it once the lease ran out, and never a settled one', async () => {
      await store.addNotification(outgoing('e'));
      const [due] = await store.dueNotifications('hook', at(0), 1);
      expect(await store.claimNotification(due!.id, at(0), at(10_000))).to.not.equal(null);
      expect(await store.claimNotification(due!.id, at(9_999), at(20_000))).to.equal(null);
      const again = await store.claimNotification(due!.id, at(10_000), at(20_000));
      expect(again).to.deep.include({ attempts: 2 });
      expect(await store.settleNotification(due!.id, { state: 'delivered' }, ['pending'])).to.deep.include({
        state: 'delivered',
        leaseUntil: null,
      });
      expect(await store.settleNotification(due!.id, { state: 'cancelled' }, ['held'])).to.equal(null);
      expect(await store.claimNotification(due!.id, at(99_000), at(100_000))).to.equal(null);
      expect(await store.dueNotifications('hook', at(99_000), 10)).to.deep.equal([]);
    });

    it("stores a deployment's events with it, and neither when the move was recorded by another writer", async () => {
      const served = { color: 'blue' as const, tag: 'v26.11.27.0', version: '26.11.27.0', revision: 1 };
      const move = { ...served, switchedBy: 'ana', source: 'api' };
      const promoted = (d: { id: number; tag: string }) => [
        { reason: 'Promoted', message: `${d.tag} serves`, data: { deployment: d.id } },
      ];
      const entry = await store.startDeployment(move, promoted);
      expect(await store.startDeployment(move, promoted).catch((e: unknown) => e)).to.be.instanceOf(Error);
      const events = await store.listEventsAfter(0, 10);
      expect(events.map((e) => [e.reason, e.data?.deployment])).to.deep.equal([['Promoted', entry.id]]);
    });
  });
}
