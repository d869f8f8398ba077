// The embedded store's deployment ledger (table deployment_ledger): who served when, and the gates
// judged on the way. Kept apart from the other tables so each file reads at once; EmbeddedStore delegates to it.
import type { Deployment, DeploymentEnd, GateRecord, NewDeployment } from '../common/types.js';
import type { SqliteConnection } from './embedded-connection.js';
import * as row from './embedded-rows.js';
import * as rec from './records.js';
import type { EventsFor } from './store.js';

export class EmbeddedDeploymentLedger {
  readonly #c: SqliteConnection;

  constructor(connection: SqliteConnection) {
    this.#c = connection;
  }

  startDeployment(deployment: NewDeployment, events?: EventsFor<Deployment>): Deployment {
    return this.#c.write((): Deployment => {
      const next = this.#c.get<{ n: number }>('SELECT COALESCE(MAX(id), 0) + 1 AS n FROM deployment_ledger')!.n;
      const record = rec.newDeployment(next, deployment, rec.nowIso());
      try {
        this.#c.run(
          'INSERT INTO deployment_ledger (id, revision, color, tag, ended_at, doc) VALUES (?, ?, ?, ?, NULL, ?)',
          record.id,
          record.revision,
          record.color,
          record.tag,
          JSON.stringify(record),
        );
      } catch (err) {
        if (row.isUniqueViolation(err)) throw rec.deploymentTaken(deployment);
        throw err;
      }
      this.#c.insertEvents(events?.(record) ?? []);
      return record;
    });
  }

  endDeployment(id: number, reason: DeploymentEnd): Deployment | null {
    return this.#c.write((): Deployment | null => {
      const sql = 'SELECT doc FROM deployment_ledger WHERE id = ? AND ended_at IS NULL';
      const found = this.#c.get<{ doc: string }>(sql, id);
      if (!found) return null;
      const ended = rec.copyDeployment({ ...row.toDeployment(found), endedAt: rec.nowIso(), endReason: reason });
      const update = 'UPDATE deployment_ledger SET ended_at = ?, doc = ? WHERE id = ?';
      this.#c.run(update, ended.endedAt, JSON.stringify(ended), id);
      return ended;
    });
  }

  recordGate(id: number, record: GateRecord, events?: EventsFor<Deployment>): Deployment | null {
    return this.#c.write((): Deployment | null => {
      const found = this.#c.get<{ doc: string }>('SELECT doc FROM deployment_ledger WHERE id = ?', id);
      if (!found) return null;
      const next = rec.withGate(row.toDeployment(found), record, rec.nowIso());
      this.#c.run(
        'UPDATE deployment_ledger SET ended_at = ?, doc = ? WHERE id = ?',
        next.endedAt,
        JSON.stringify(next),
        id,
      );
      this.#c.insertEvents(events?.(next) ?? []);
      return next;
    });
  }

  openDeployments(): Deployment[] {
    const sql = 'SELECT doc FROM deployment_ledger WHERE ended_at IS NULL ORDER BY id DESC';
    return this.#c.read(() => this.#c.all<{ doc: string }>(sql)).map(row.toDeployment);
  }

  listDeployments(limit: number): Deployment[] {
    const sql = 'SELECT doc FROM deployment_ledger ORDER BY id DESC LIMIT ?';
    return this.#c.read(() => this.#c.all<{ doc: string }>(sql, rec.checkLimit(limit))).map(row.toDeployment);
  }
}
