// Release policy: what happens on its own once a webhook release has built. autoStage puts it on
// the inactive color (a desired-state revision with source `webhook`, so the active color keeps
// serving); autoPromote then switches traffic to it once it has been Ready for promoteDelay. Both
// only ever write desired state; the reconciler does the rest, under its usual rules (traffic
// moves only to a Ready color). An operator's write always wins: promotion happens only while the
// latest revision is still the one the webhook wrote.
import PQueue from 'p-queue';
import { ConflictError } from '../common/errors.js';
import { otherColor, type Color, type DesiredDoc, type NewEvent, type Revision } from '../common/types.js';
import type { PolicyConfig } from '../config/config.js';
import type { ApplyMeta, ApplyResult, ChangeMeta } from '../desired-state/revisions.js';
import type { Store } from '../store/store.js';
import type { ReconcilerStatus } from './status.js';

export interface ReleasePolicyOptions {
  policy: PolicyConfig;
  desired: {
    current(): Promise<Revision | null>;
    update(mutator: (doc: DesiredDoc) => DesiredDoc, meta: ChangeMeta): Promise<ApplyResult>;
    apply(doc: unknown, meta: ApplyMeta): Promise<ApplyResult>;
  };
  store: Pick<Store, 'getRelease' | 'appendEvent'>;
  now?: () => number;
}

/** Who writes a promotion (revision source and author). */
export const POLICY_SOURCE = 'policy';

export class ReleasePolicy {
  readonly #options: ReleasePolicyOptions;
  readonly #now: () => number;
  /** One decision at a time, in order: a stage and a promotion must not interleave. */
  readonly #work = new PQueue({ concurrency: 1 });
  /** The staged color seen Ready since when, for the revision it was staged in. */
  #readySince: { key: string; at: number } | null = null;
  #closed = false;

  constructor(options: ReleasePolicyOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** A build ended: stage it when it is a webhook release that passed (autoStage). */
  buildFinished(tag: string): void {
    if (this.#closed || !this.#options.policy.autoStage) return;
    void this.#work.add(() => this.#autoStage(tag));
  }

  /** A pass ended: promote the staged color when it stayed Ready long enough (autoPromote). */
  passFinished(status: ReconcilerStatus): void {
    // Passes come often; a check already waiting covers this one too.
    if (this.#closed || !this.#options.policy.autoPromote || this.#work.size > 0) return;
    void this.#work.add(() => this.#autoPromote(status));
  }

  /** Resolves once the decisions already queued are made. */
  async idle(): Promise<void> {
    await this.#work.onIdle();
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#work.onIdle();
  }

  async #autoStage(tag: string): Promise<void> {
    const release = await this.#options.store.getRelease(tag);
    if (release?.status !== 'succeeded' || release.origin?.source !== 'webhook') return;
    const actor = release.origin.actor;
    // Set by the mutator, which may run more than once (a concurrent write makes update() redo it).
    const staged: { color: Color | null } = { color: null };
    try {
      const result = await this.#options.desired.update(
        (doc) => {
          staged.color = stagingColor(doc, tag);
          return staged.color === null ? doc : { ...doc, colors: { ...doc.colors, [staged.color]: { tag } } };
        },
        { source: 'webhook', author: actor },
      );
      const { color } = staged;
      if (color === null) return;
      await this.#event({
        reason: 'AutoStaged',
        color,
        actor,
        message: `${tag} passed BUILD and TEST and is staged on ${color}, the inactive color (revision ${result.revision.number})`,
        data: { tag, revision: result.revision.number, changed: result.changed },
      });
    } catch (err) {
      await this.#event({
        reason: 'AutoStageFailed',
        actor,
        message: `${tag} could not be staged: ${(err as Error).message}`,
        data: { tag },
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
    if (this.#now() - this.#readySince.at < this.#options.policy.promoteDelayMs) return;
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
        message: `${tag} on ${target} was Ready for ${this.#options.policy.promoteDelayMs} ms: traffic switches to it (revision ${result.revision.number})`,
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

  async #event(event: NewEvent): Promise<void> {
    await this.#options.store.appendEvent(event).catch((err: unknown) => {
      console.error(`hypervisor: cannot record event ${event.reason}: ${(err as Error).message}`);
    });
  }
}

/**
 * The color a webhook release goes to: the inactive one (with none active, a color without a tag,
 * else blue). Null when a color already has the tag: staging it again would change nothing, and
 * putting the active color's tag on the other one would only waste a slot.
 */
export function stagingColor(doc: DesiredDoc, tag: string): Color | null {
  if (doc.colors.blue.tag === tag || doc.colors.green.tag === tag) return null;
  if (doc.active !== null) return otherColor(doc.active);
  return doc.colors.blue.tag === null || doc.colors.green.tag !== null ? 'blue' : 'green';
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
  const tag = doc.colors[target].tag;
  const report = status.colors?.[target];
  return tag !== null && report?.phase === 'Ready' && report.runningTag === tag && report.desiredTag === tag
    ? target
    : null;
}
