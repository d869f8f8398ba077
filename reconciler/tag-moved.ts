// A release keeps the commit it was first seen at. A delivery that names another SHA is refused at
// once (TagMovedError); one without a SHA (a `create` event) cannot show a move by itself, so the
// mirror is asked in the background, after the webhook has its answer, and a move becomes an event.
import type { Deadline } from '../common/deadline.js';
import PQueue from 'p-queue';
import { ConflictError } from '../common/errors.js';
import type { NewEvent, ReleaseRecord } from '../common/types.js';
import type { RepoMirror } from './pipeline/mirror.js';

/** The tag exists in the records at another commit. The record is left as it is. */
export class TagMovedError extends ConflictError {
  readonly tag: string;
  constructor(tag: string, recorded: string, seen: string) {
    super(
      `tag ${tag} moved: release ${tag} is ${recorded}, the delivery says ${seen}; a release never ` +
        'changes its commit, so push a new tag instead',
    );
    this.tag = tag;
  }
}

export interface TagMoveChecksOptions {
  mirror: Pick<RepoMirror, 'fetch' | 'resolveTag'>;
  /** A fresh deadline per check: aborted when the intake closes or the check's time is up. */
  deadline(): Deadline;
  /** Best effort (EventLog.record): never rejects. */
  event(event: NewEvent): Promise<void>;
}

/** At most this many checks wait: a flood of deliveries cannot pile up work. */
const MAX_WAITING = 100;

export class TagMoveChecks {
  readonly #options: TagMoveChecksOptions;
  /** One check at a time. */
  readonly #queue = new PQueue({ concurrency: 1 });

  constructor(options: TagMoveChecksOptions) {
    this.#options = options;
  }

  /** Queues a check that `release` (which has a SHA) is still where the repo's tag points. */
  queue(release: ReleaseRecord, delivery: { actor: string; deliveryId: string }): void {
    if (release.sha !== null && this.#queue.size < MAX_WAITING)
      void this.#queue.add(() => this.#check(release, delivery));
  }

  /** Drops the waiting checks and waits for the one under way (its signal is aborted by then). */
  async close(): Promise<void> {
    this.#queue.clear();
    await this.#queue.onIdle();
  }

  async #check(release: ReleaseRecord, delivery: { actor: string; deliveryId: string }): Promise<void> {
    const { mirror, event } = this.#options;
    const deadline = this.#options.deadline();
    const signal = deadline.signal;
    try {
      await mirror.fetch(signal);
      const info = await mirror.resolveTag(release.tag, signal);
      if (info === null || info.commit === release.sha) return;
      const error = new TagMovedError(release.tag, release.sha!, info.commit);
      await event({
        reason: 'TagMoved',
        message: error.message,
        actor: delivery.actor,
        data: { tag: release.tag, delivery: delivery.deliveryId, sha: info.commit },
      });
    } catch (err) {
      if (signal.aborted) return;
      await event({
        reason: 'TagCheckFailed',
        message: `could not check whether ${release.tag} moved: ${(err as Error).message}`,
        data: { tag: release.tag },
      });
    } finally {
      deadline.dispose();
    }
  }
}
