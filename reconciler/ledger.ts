// The deployment ledger: which color served which tag to public traffic, from when to when, and
// who made it so. The reconciler tells it what serves each time traffic really moves (a route
// action, or a new tag deployed in place on the serving color); the ledger writes only what changed.
// After a restart the first route says the same again and the open entry is simply kept.
import { DuplicateKeyError } from '../common/errors.js';
import type { Color, Deployment, DeploymentEnd, GateResult, NewEvent, Revision } from '../common/types.js';
import type { Store } from '../store/store.js';

/** What public traffic goes to now. */
export interface Serving {
  color: Color;
  tag: string;
  version: string | null;
  /** The gates its release passed before the switch (the smoke gate), written with a new entry. */
  gates?: GateResult[];
}

export interface LedgerChange {
  /** The open entry that already says what serves now. */
  keep: Deployment | null;
  end: Array<{ id: number; reason: DeploymentEnd }>;
  /** A new entry must be opened for what serves now. */
  start: boolean;
}

/** Pure: what to write when `serving` is what traffic goes to and `open` are the entries still open. */
export function ledgerChange(open: readonly Deployment[], serving: Serving | null): LedgerChange {
  const keep = serving === null ? null : (open.find((d) => d.color === serving.color && d.tag === serving.tag) ?? null);
  return {
    keep,
    end: open.filter((d) => d !== keep).map((d) => ({ id: d.id, reason: endReason(d, serving) })),
    start: serving !== null && keep === null,
  };
}

export function endReason(ended: Pick<Deployment, 'color'>, next: Serving | null): DeploymentEnd {
  if (next === null) return 'stopped';
  return next.color === ended.color ? 'replaced' : 'switched';
}

/**
 * The revision that made `color` serve `tag` (revisions newest first): the oldest of the newest
 * unbroken run that has `color` active at `tag`. Later revisions that changed something else
 * (pause, the other color) did not make it serve.
 */
export function activatedBy(revisions: readonly Revision[], color: Color, tag: string): Revision | null {
  const says = (r: Revision): boolean => r.doc.active === color && r.doc.colors[color].tag === tag;
  const first = revisions.findIndex(says);
  if (first < 0) return null;
  let found = revisions[first]!;
  for (const r of revisions.slice(first + 1)) {
    if (!says(r)) break;
    found = r;
  }
  return found;
}

/** Told once traffic reached a tag it did not serve before: the new entry and the one it replaced. */
export type PromotedListener = (entry: Deployment, before: Deployment | null) => void;

export type LedgerStore = Pick<Store, 'openDeployments' | 'startDeployment' | 'endDeployment' | 'listRevisions'>;

/** How far back a move is traced to the revision that asked for it. */
const HISTORY = 200;

export class DeploymentLedger {
  readonly #store: LedgerStore;
  readonly #promoted: PromotedListener;
  /** What the ledger last recorded (undefined: not known since this process started). */
  #recorded: Serving | null | undefined = undefined;
  /** A change not written yet (the store failed): written by the next flush. */
  #pending: { serving: Serving | null; revision: Revision | null } | undefined = undefined;

  constructor(store: LedgerStore, promoted: PromotedListener = () => undefined) {
    this.#store = store;
    this.#promoted = promoted;
  }

  /** Traffic now goes to `serving`; `revision` is the pass's, used when the history names no other. */
  async served(serving: Serving | null, revision: Revision | null): Promise<void> {
    this.#pending = { serving, revision };
    await this.flush();
  }

  /** Writes a change a failed write left; a no-op when there is none. Throws what the store throws. */
  async flush(): Promise<void> {
    const pending = this.#pending;
    if (pending === undefined) return;
    if (this.#recorded === undefined || !sameServing(this.#recorded, pending.serving)) await this.#write(pending);
    this.#recorded = pending.serving;
    if (this.#pending === pending) this.#pending = undefined;
  }

  async #write({ serving, revision }: { serving: Serving | null; revision: Revision | null }): Promise<void> {
    const open = await this.#store.openDeployments();
    const change = ledgerChange(open, serving);
    if (change.start && serving !== null) {
      const made = activatedBy(await this.#store.listRevisions(HISTORY), serving.color, serving.tag) ?? revision;
      const before = open.find((d) => change.end.some((e) => e.id === d.id)) ?? null;
      try {
        const entry = await this.#store.startDeployment(
          {
            ...serving,
            revision: made?.number ?? 0,
            switchedBy: made?.author ?? 'hypervisor',
            source: made?.source ?? 'reconciler',
          },
          (entry) => [promoted(entry, before)],
        );
        this.#promoted(entry, before);
      } catch (err) {
        // Another host sharing the store recorded the same move first: that entry is this one.
        if (!(err instanceof DuplicateKeyError)) throw err;
      }
    }
    for (const { id, reason } of change.end) await this.#store.endDeployment(id, reason);
  }
}

/**
 * Public traffic reached a tag it did not serve before: written with the ledger entry, so the
 * promotion is told exactly once, by the host that recorded the move (never by a restart that only
 * says the same again).
 */
function promoted(entry: Deployment, before: Deployment | null): NewEvent {
  const was = before ? ` (was ${before.tag} on ${before.color})` : '';
  return {
    reason: 'Promoted',
    actor: 'reconciler',
    color: entry.color,
    message:
      `${entry.tag} serves public traffic on ${entry.color}${was}, ` +
      `by ${entry.switchedBy} (revision ${entry.revision})`,
    data: {
      tag: entry.tag,
      version: entry.version,
      deployment: entry.id,
      revision: entry.revision,
      switchedBy: entry.switchedBy,
      source: entry.source,
      previous: before ? { tag: before.tag, color: before.color } : null,
    },
  };
}

function sameServing(a: Serving | null, b: Serving | null): boolean {
  return a === null || b === null ? a === b : a.color === b.color && a.tag === b.tag;
}
