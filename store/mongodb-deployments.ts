// The MongoDB adapter's deployment ledger: who served when, and the gates judged on the way. Kept
// apart from the other collections so each file reads at once; MongoStore delegates to it.
import type { Collection, Db } from 'mongodb';
import type { Deployment, DeploymentEnd, GateRecord, NewDeployment } from '../common/types.js';
import { isDuplicateKey, type MongoWriter } from './mongodb-writer.js';
import * as rec from './records.js';
import type { EventsFor } from './store.js';

export class MongoDeploymentCollection {
  readonly #db: Db;
  readonly #w: MongoWriter;

  constructor(db: Db, writer: MongoWriter) {
    this.#db = db;
    this.#w = writer;
  }

  /** A collection of its own: an older build's `deployments` (a log of unit actions) is left to it. */
  get #deployments(): Collection<Deployment> {
    return this.#db.collection('deployment_ledger');
  }

  async createIndexes(): Promise<void> {
    await this.#deployments.createIndexes([
      { key: { id: 1 }, unique: true },
      // One entry per move, whichever host records it first.
      { key: { revision: 1, color: 1, tag: 1 }, unique: true },
      { key: { endedAt: 1 } },
    ]);
  }

  async startDeployment(deployment: NewDeployment, events?: EventsFor<Deployment>): Promise<Deployment> {
    try {
      return await this.#w.atomically(async (tx) => {
        const record = rec.newDeployment(await this.#w.nextId('deployment_ledger', tx), deployment, rec.nowIso());
        await this.#deployments.insertOne({ ...record }, { session: tx });
        await this.#w.insertEvents(events?.(record) ?? [], tx);
        return record;
      });
    } catch (err) {
      if (isDuplicateKey(err)) throw rec.deploymentTaken(deployment);
      throw err;
    }
  }

  async endDeployment(id: number, reason: DeploymentEnd): Promise<Deployment | null> {
    const doc = await this.#deployments.findOneAndUpdate(
      { id, endedAt: null },
      { $set: { endedAt: rec.nowIso(), endReason: reason } },
      { returnDocument: 'after' },
    );
    return doc && rec.copyDeployment(doc);
  }

  async recordGate(id: number, record: GateRecord, events?: EventsFor<Deployment>): Promise<Deployment | null> {
    // Compare-and-set on what was read, so a concurrent end or gate is never overwritten: read again.
    for (;;) {
      const outcome = await this.#w.atomically(async (tx) => {
        const found = await this.#deployments.findOne({ id }, { session: tx });
        if (!found) return null;
        const next = rec.withGate(rec.copyDeployment(found), record, rec.nowIso());
        const { gates, verdict, endedAt, endReason } = next;
        const written = await this.#deployments.updateOne(
          { id, endedAt: found.endedAt, gates: found.gates },
          { $set: { gates, verdict, endedAt, endReason } },
          { session: tx },
        );
        if (written.matchedCount === 0) return 'again' as const;
        await this.#w.insertEvents(events?.(next) ?? [], tx);
        return next;
      });
      if (outcome !== 'again') return outcome;
    }
  }

  async openDeployments(): Promise<Deployment[]> {
    const docs = await this.#deployments.find({ endedAt: null }).sort({ id: -1 }).toArray();
    return docs.map(rec.copyDeployment);
  }

  async listDeployments(limit: number): Promise<Deployment[]> {
    if (rec.checkLimit(limit) === 0) return [];
    const docs = await this.#deployments.find({}).sort({ id: -1 }).limit(limit).toArray();
    return docs.map(rec.copyDeployment);
  }
}
