// The embedded store's archive records (table archive_objects) and the reads a daily export makes
// of github_events and deployment_ledger. Each write is one IMMEDIATE transaction, so a queue() and a
// settle() of the same name from two processes never interleave.
import type { ArchiveKind, ArchiveObject, ArchiveOutcome, ArchiveState, NewArchiveObject } from '../common/archive.js';
import type { Deployment, GithubDelivery } from '../common/types.js';
import type { ArchiveRecords, DeliveryCursor, TimeRange } from './archive-records.js';
import * as shared from './archive-shared.js';
import type { SqliteConnection } from './embedded-connection.js';
import * as row from './embedded-rows.js';
import * as rec from './records.js';

export class EmbeddedArchiveRecords implements ArchiveRecords {
  readonly #c: SqliteConnection;

  constructor(connection: SqliteConnection) {
    this.#c = connection;
  }

  async queue(entry: NewArchiveObject): Promise<ArchiveObject> {
    const checked = shared.checkEntry(entry);
    return this.#c.write((): ArchiveObject => {
      const next = shared.queued(this.#find(checked.name), checked, rec.nowIso());
      this.#put(next);
      return next;
    });
  }

  async settle(name: string, generation: number, outcome: ArchiveOutcome): Promise<ArchiveObject | null> {
    return this.#c.write((): ArchiveObject | null => {
      const current = this.#find(name);
      if (!current || current.generation !== generation) return null;
      const next = shared.settled(current, outcome, rec.nowIso());
      this.#put(next);
      return next;
    });
  }

  async get(name: string): Promise<ArchiveObject | null> {
    return this.#c.read(() => this.#find(name));
  }

  async list(filter: { state?: ArchiveState; kind?: ArchiveKind }, limit: number): Promise<ArchiveObject[]> {
    shared.checkFilter(filter);
    const sql =
      'SELECT doc FROM archive_objects WHERE (? IS NULL OR state = ?) AND (? IS NULL OR kind = ?) ' +
      'ORDER BY name DESC LIMIT ?';
    const state = filter.state ?? null;
    const kind = filter.kind ?? null;
    const rows = this.#c.read(() => this.#c.all<{ doc: string }>(sql, state, state, kind, kind, rec.checkLimit(limit)));
    return rows.map(toObject);
  }

  async deliveries(range: TimeRange, cursor: DeliveryCursor | null, limit: number): Promise<GithubDelivery[]> {
    const { from, to } = shared.checkRange(range);
    const sql =
      'SELECT * FROM github_events WHERE received_at >= ? AND received_at < ? ' +
      'AND (? IS NULL OR received_at > ? OR (received_at = ? AND delivery_id > ?)) ' +
      'ORDER BY received_at, delivery_id LIMIT ?';
    const at = cursor?.receivedAt ?? null;
    const id = cursor?.deliveryId ?? null;
    const args = [from, to, at, at, at, id, rec.checkLimit(limit)];
    return this.#c.read(() => this.#c.all<row.DeliveryRow>(sql, ...args)).map(row.toDelivery);
  }

  async deployments(range: TimeRange, limit: number): Promise<Deployment[]> {
    const { from, to } = shared.checkRange(range);
    const sql =
      "SELECT doc FROM deployment_ledger WHERE (json_extract(doc, '$.startedAt') >= ? " +
      "AND json_extract(doc, '$.startedAt') < ?) OR (ended_at >= ? AND ended_at < ?) ORDER BY id LIMIT ?";
    const rows = this.#c.read(() => this.#c.all<{ doc: string }>(sql, from, to, from, to, rec.checkLimit(limit)));
    return rows.map(row.toDeployment);
  }

  #find(name: string): ArchiveObject | null {
    const found = this.#c.get<{ doc: string }>('SELECT doc FROM archive_objects WHERE name = ?', name);
    return found && toObject(found);
  }

  #put(next: ArchiveObject): void {
    this.#c.run(
      'INSERT INTO archive_objects (name, kind, state, doc) VALUES (?, ?, ?, ?) ' +
        'ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, state = excluded.state, doc = excluded.doc',
      next.name,
      next.kind,
      next.state,
      JSON.stringify(next),
    );
  }
}

function toObject(found: { doc: string }): ArchiveObject {
  return shared.copyArchiveObject(JSON.parse(found.doc) as ArchiveObject);
}
