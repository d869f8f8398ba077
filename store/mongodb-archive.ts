// The MongoDB store's archive records (collection archive_objects) and the reads a daily export makes
// of github_events and deployment_ledger. Several hosts may share the database: a queue() bumps the
// generation atomically, and a settle() replaces the record only while it is still that generation.
import type { Collection, Db, Filter } from 'mongodb';
import type { ArchiveKind, ArchiveObject, ArchiveOutcome, ArchiveState, NewArchiveObject } from '../common/archive.js';
import type { Deployment, GithubDelivery } from '../common/types.js';
import type { ArchiveRecords, DeliveryCursor, TimeRange } from './archive-records.js';
import * as shared from './archive-shared.js';
import * as rec from './records.js';

export class MongoArchiveRecords implements ArchiveRecords {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  get #objects(): Collection<ArchiveObject> {
    return this.#db.collection('archive_objects');
  }

  async createIndexes(): Promise<void> {
    await this.#objects.createIndexes([{ key: { name: 1 }, unique: true }, { key: { state: 1, kind: 1, name: -1 } }]);
  }

  async queue(entry: NewArchiveObject): Promise<ArchiveObject> {
    const checked = shared.checkEntry(entry);
    const { generation: _generation, ...fresh } = shared.queued(null, checked, rec.nowIso());
    // One atomic update: two hosts queueing the same name at once get two distinct generations.
    const doc = await this.#objects.findOneAndUpdate(
      { name: checked.name },
      { $set: fresh, $inc: { generation: 1 } },
      { upsert: true, returnDocument: 'after' },
    );
    return shared.copyArchiveObject(doc!);
  }

  async settle(name: string, generation: number, outcome: ArchiveOutcome): Promise<ArchiveObject | null> {
    const current = await this.#objects.findOne({ name, generation });
    if (!current) return null;
    const next = shared.settled(shared.copyArchiveObject(current), outcome, rec.nowIso());
    const replaced = await this.#objects.findOneAndReplace({ name, generation }, next, { returnDocument: 'after' });
    return replaced && shared.copyArchiveObject(replaced);
  }

  async get(name: string): Promise<ArchiveObject | null> {
    const doc = await this.#objects.findOne({ name });
    return doc && shared.copyArchiveObject(doc);
  }

  async list(filter: { state?: ArchiveState; kind?: ArchiveKind }, limit: number): Promise<ArchiveObject[]> {
    shared.checkFilter(filter);
    if (rec.checkLimit(limit) === 0) return [];
    const query: Filter<ArchiveObject> = {};
    if (filter.state !== undefined) query.state = filter.state;
    if (filter.kind !== undefined) query.kind = filter.kind;
    const docs = await this.#objects.find(query).sort({ name: -1 }).limit(limit).toArray();
    return docs.map(shared.copyArchiveObject);
  }

  async deliveries(range: TimeRange, cursor: DeliveryCursor | null, limit: number): Promise<GithubDelivery[]> {
    const { from, to } = shared.checkRange(range);
    if (rec.checkLimit(limit) === 0) return [];
    const query: Filter<GithubDelivery> = { receivedAt: { $gte: from, $lt: to } };
    if (cursor) {
      query.$or = [
        { receivedAt: { $gt: cursor.receivedAt } },
        { receivedAt: cursor.receivedAt, deliveryId: { $gt: cursor.deliveryId } },
      ];
    }
    const docs = await this.#db
      .collection<GithubDelivery>('github_events')
      .find(query)
      .sort({ receivedAt: 1, deliveryId: 1 })
      .limit(limit)
      .toArray();
    return docs.map(rec.copyDelivery);
  }

  async deployments(range: TimeRange, limit: number): Promise<Deployment[]> {
    const { from, to } = shared.checkRange(range);
    if (rec.checkLimit(limit) === 0) return [];
    const within = { $gte: from, $lt: to };
    const docs = await this.#db
      .collection<Deployment>('deployment_ledger')
      .find({ $or: [{ startedAt: within }, { endedAt: within }] })
      .sort({ id: 1 })
      .limit(limit)
      .toArray();
    return docs.map(rec.copyDeployment);
  }
}
