// Release policy: what happens on its own once a webhook release has built. autoStage puts it on
// the inactive color (a desired-state revision with source `webhook`, so the active color keeps
// serving); autoPromote then switches traffic to it once it has been Ready for promoteDelay. Both
// only ever write desired state; the reconciler does the rest, under its usual rules (traffic
// moves only to a Ready color). Both are level-triggered: after every pass they look at the
// releases and the desired state as they are, so a restart between a passed build and its stage
// loses nothing. An operator's write always wins: each decision is written only on top of the
// revision it was made from. The rules themselves are desired-state/transitions.ts's.
import PQueue from 'p-queue';
import { ConflictError } from '../common/errors.js';
import type { ReconcilerStatus } from '../common/status.js';
import { otherColor, type Color, type DesiredDoc, type NewEvent, type Revision } from '../common/types.js';
import type { PolicyConfig } from '../config/config.js';
import { emptyDesired } from '../desired-state/document.js';
import type { ApplyMeta, ApplyResult, ChangeMeta } from '../desired-state/revisions.js';
import { autoStage, autoStageCandidate, isPromotable, type History } from '../desired-state/transitions.js';
import type { Store } from '../store/store.js';
import { EventLog } from '../store/event-log.js';

export interface ReleasePolicyOptions {
  policy: PolicyConfig;
  desired: {
    current(): Promise<Revision | null>;
    update(mutator: (doc: DesiredDoc) => DesiredDoc, meta: ChangeMeta): Promise<ApplyResult>;
    apply(doc: unknown, meta: ApplyMeta): Promise<ApplyResult>;
  };
  store: Pick<Store, 'listReleases' | 'listRevisions' | 'appendEvent'>;
  now?: () => number;
}

/** Who writes a promotion (revision source and author). */
export const POLICY_SOURCE = 'policy';

/** The newest releases autoStage looks at, and how far back it reads the history for an earlier stage. */
const RECENT_RELEASES = 50;
const HISTORY = 500;

export class ReleasePolicy {
  readonly #options: ReleasePolicyOptions;
  readonly #now: () => number;
  /** One decision at a time, in order: a stage and a promotion must not interleave. */
  readonly #work = new PQueue({ concurrency: 1 });
  /** The staged color seen Ready since when, for the revision it was staged in. */
  #readySince: { key: string; at: number } | null = null;
  #closed = false;
  readonly #events: EventLog;
  #policy: PolicyConfig;

  constructor(options: ReleasePolicyOptions) {
    this.#options = options;
    this.#policy = options.policy;
    this.#now = options.now ?? Date.now;
    this.#events = new EventLog(options.store);
  }

  /** `hyper-cli config set policy.*`: the next pass decides by the new policy, no restart. */
  setPolicy(policy: PolicyConfig): void {
    this.#policy = policy;
  }

  /** A pass ended: stage a new release (autoStage), promote a staged one that stayed Ready (autoPromote). */
  passFinished(status: ReconcilerStatus): void {
    const { autoStage: stage, autoPromote: promote } = this.#policy;
    // Passes come often; a decision already waiting covers this one too.
    if (this.#closed || (!stage && !promote) || this.#work.size > 0) return;
    void this.#work.add(async () => {
      if (stage) await this.#autoStage();
      if (promote) await this.#autoPromote(status);
    });
  }

  /** Resolves once the decisions already queued are made. */
  async idle(): Promise<void> {
    await this.#work.onIdle();
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#work.onIdle();
  }

  async #autoStage(): Promise<void> {
    const latest = await this.#options.desired.current();
    const doc = latest?.doc ?? emptyDesired();
    // The cheap test first: most passes have no release newer than both colors.
    const candidate = autoStageCandidate(doc, await this.#options.store.listReleases(RECENT_RELEASES));
    if (candidate === null) return;
    const revisions = await this.#options.store.listRevisions(HISTORY);
    const history: History = { revisions, complete: revisions.length < HISTORY };
    const staged = autoStage(doc, candidate, history);
    if (staged === null) return;
    try {
      // On exactly the revision the decision was made from: anything written since wins, and the next pass
      // decides again.
      // The event is stored with the revision, in one transaction: both or neither.
      await this.#options.desired.apply(staged.doc, {
        source: 'webhook',
        author: staged.actor,
        expected: latest?.number ?? 0,
        events: (revision) => [
          {
            reason: 'AutoStaged',
            color: staged.color,
            actor: staged.actor,
            message:
              `${staged.tag} passed BUILD and TEST and is staged on ${staged.color}, the ` +
              `inactive color (revision ${revision.number})`,
            data: { tag: staged.tag, revision: revision.number, changed: true },
          },
        ],
      });
    } catch (err) {
      if (err instanceof ConflictError) return;
      await this.#event({
        reason: 'AutoStageFailed',
        actor: staged.actor,
        message: `${staged.tag} could not be staged: ${(err as Error).message}`,
        data: { tag: staged.tag },
      });
    }
  }

  async #autoPromote(status: ReconcilerStatus): Promise<void> {
    const latest = await this.#options.desired.current();
    const target = latest === null ? null : promotable(latest, status);
    if (latest === null || target === null) {
      this.#readySince = null;
      return;
    }
    const key = `${latest.number}:${target}`;
    if (this.#readySince?.key !== key) this.#readySince = { key, at: this.#now() };
    if (this.#now() - this.#readySince.at < this.#policy.promoteDelayMs) return;
    try {
      // Based on exactly that revision: anything written since (an operator, another host) wins.
      const result = await this.#options.desired.apply(
        { ...latest.doc, active: target },
        { source: POLICY_SOURCE, author: POLICY_SOURCE, expected: latest.number },
      );
      this.#readySince = null;
      const tag = latest.doc.colors[target].tag;
      await this.#event({
        reason: 'AutoPromoted',
        color: target,
        actor: POLICY_SOURCE,
        message:
          `${tag} on ${target} was Ready for ${this.#policy.promoteDelayMs} ms: ` +
          `traffic switches to it (revision ${result.revision.number})`,
        data: { tag, revision: result.revision.number, from: latest.doc.active },
      });
    } catch (err) {
      if (err instanceof ConflictError) return;
      await this.#event({
        reason: 'AutoPromoteFailed',
        actor: POLICY_SOURCE,
        message: `promotion to ${target} failed: ${(err as Error).message}`,
      });
    }
  }

  /** Best effort (event-log.ts): the decision or record is the result; a lost event must not undo it. */
  #event(event: NewEvent): Promise<void> {
    return this.#events.record(event);
  }
}

/**
 * The color to promote: the webhook's staged (inactive) color, when the latest revision is the
 * webhook's own, the loop is not paused, and the last pass saw that color Ready at its tag.
 */
export function promotable(latest: Revision, status: ReconcilerStatus): Color | null {
  const { doc } = latest;
  if (latest.source !== 'webhook' || doc.paused || status.observedRevision !== latest.number) return null;
  const target: Color | null =
    doc.active !== null
      ? otherColor(doc.active)
      : doc.colors.blue.tag !== null
        ? 'blue'
        : doc.colors.green.tag !== null
          ? 'green'
          : null;
  if (target === null) return null;
  // The switch's own rule (transitions.ts): Ready at its tag, and no failed gate.
  return isPromotable(target, doc.colors[target].tag, status.colors) ? target : null;
}
