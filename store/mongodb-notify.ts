// The MongoDB adapter's notification collections: the notifier's cursor and its outbox. Kept apart
// from the other collections so each file reads at once; MongoStore delegates to it. Several hosts
// may share them: the unique key decides which one writes a message, a conditional update which
// one takes a try, and $max moves the cursor only forward.
import type { Collection, Db, Filter } from 'mongodb';
import type {
  NewNotification,
  NotificationRecord,
  NotificationRole,
  NotificationSettle,
  NotificationState,
} from '../common/notifications.js';
import { isDuplicateKey, type MongoWriter } from './mongodb-writer.js';
import * as nrec from './notify-records.js';
import * as rec from './records.js';

interface CursorDoc {
  _id: string;
  eventId: number;
}

export class MongoNotifyCollections {
  readonly #db: Db;
  readonly #w: MongoWriter;

  constructor(db: Db, writer: MongoWriter) {
    this.#db = db;
    this.#w = writer;
  }

  get #outbox(): Collection<NotificationRecord> {
    return this.#db.collection('notifications');
  }
  get #cursor(): Collection<CursorDoc> {
    return this.#db.collection('notify_cursor');
  }

  async createIndexes(): Promise<void> {
    await this.#outbox.createIndexes([
      { key: { id: 1 }, unique: true },
      { key: { key: 1 }, unique: true },
      { key: { target: 1, subject: 1, id: -1 } },
      { key: { target: 1, state: 1, id: 1 } },
    ]);
  }

  async notifyCursor(): Promise<number | null> {
    return (await this.#cursor.findOne({ _id: 'events' }))?.eventId ?? null;
  }

  async advanceNotifyCursor(eventId: number): Promise<void> {
    rec.checkAfterId(eventId);
    try {
      await this.#cursor.updateOne({ _id: 'events' }, { $max: { eventId } }, { upsert: true });
    } catch (err) {
      // Two first-ever upserts race for the insert: the loser's $max runs again on the document that won.
      if (!isDuplicateKey(err)) throw err;
      await this.#cursor.updateOne({ _id: 'events' }, { $max: { eventId } });
    }
  }

  async addNotification(n: NewNotification): Promise<{ duplicate: boolean }> {
    // Checked before an id is drawn, so a refused message uses up no number.
    nrec.newNotification(0, n, rec.nowIso());
    const record = nrec.newNotification(await this.#w.nextId('notifications', undefined), n, rec.nowIso());
    try {
      await this.#outbox.insertOne({ ...record });
      return { duplicate: false };
    } catch (err) {
      if (isDuplicateKey(err)) return { duplicate: true };
      throw err;
    }
  }

  async lastNotification(
    target: string,
    subject: string,
    roles?: readonly NotificationRole[],
  ): Promise<NotificationRecord | null> {
    const filter: Filter<NotificationRecord> = { target, subject, state: { $ne: 'cancelled' } };
    if (roles) filter.role = { $in: [...roles] };
    const doc = await this.#outbox.findOne(filter, { sort: { id: -1 } });
    return doc && nrec.copyNotification(doc);
  }

  async dueNotifications(target: string, now: string, limit: number): Promise<NotificationRecord[]> {
    if (rec.checkLimit(limit) === 0) return [];
    const docs = await this.#outbox.find(dueFilter(now, { target })).sort({ id: 1 }).limit(limit).toArray();
    return docs.map(nrec.copyNotification);
  }

  async claimNotification(id: number, now: string, leaseUntil: string): Promise<NotificationRecord | null> {
    nrec.checkTime(leaseUntil, 'leaseUntil');
    const doc = await this.#outbox.findOneAndUpdate(
      dueFilter(now, { id }),
      { $set: { state: 'pending', leaseUntil, updatedAt: rec.nowIso() }, $inc: { attempts: 1 } },
      { returnDocument: 'after' },
    );
    return doc && nrec.copyNotification(doc);
  }

  async settleNotification(
    id: number,
    change: NotificationSettle,
    from: readonly NotificationState[],
  ): Promise<NotificationRecord | null> {
    nrec.checkState(change.state);
    if (change.notBefore) nrec.checkTime(change.notBefore, 'notBefore');
    const set: Partial<NotificationRecord> = { state: change.state, leaseUntil: null, updatedAt: rec.nowIso() };
    if (change.notBefore !== undefined) set.notBefore = change.notBefore;
    if (change.lastError !== undefined) set.lastError = change.lastError;
    const doc = await this.#outbox.findOneAndUpdate(
      { id, state: { $in: [...from] } },
      { $set: set },
      { returnDocument: 'after' },
    );
    return doc && nrec.copyNotification(doc);
  }

  async listNotifications(limit: number): Promise<NotificationRecord[]> {
    if (rec.checkLimit(limit) === 0) return [];
    const docs = await this.#outbox.find({}).sort({ id: -1 }).limit(limit).toArray();
    return docs.map(nrec.copyNotification);
  }
}

/** The same rule as notify-records.ts isDue, as a query. */
function dueFilter(now: string, where: Filter<NotificationRecord>): Filter<NotificationRecord> {
  nrec.checkTime(now, 'now');
  return {
    ...where,
    state: { $in: ['pending', 'held'] },
    $and: [
      { $or: [{ notBefore: null }, { notBefore: { $lte: now } }] },
      { $or: [{ leaseUntil: null }, { leaseUntil: { $lte: now } }] },
    ],
  };
}
