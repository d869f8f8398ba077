// Where tags enter the pipeline: a signed webhook delivery said a tag was created, or an operator
// asked for a rebuild. Only quick store writes happen while the caller waits (the webhook answers
// within a second); fetching and building run as queued work. A release keeps the SHA it was first
// seen at: a tag that moved afterwards is refused and the record stays as it was.
import { startDeadline, type Deadline } from '../common/deadline.js';
import { describeValue } from '../common/describe.js';
import { ConflictError, DuplicateKeyError, NotFoundError, ValidationError } from '../common/errors.js';
import { FULL_SHA, isSafeTag, statelessPattern } from '../common/git-names.js';
import type { ReleaseRecord } from '../common/types.js';
import type { Store } from '../store/store.js';
import { EventLog } from '../store/event-log.js';
import type { RepoMirror } from './pipeline/mirror.js';
import { assertReleaseTag } from './pipeline/tag.js';
import { lookupTag, type TagLookup } from './tag-lookup.js';
import { TagMoveChecks, TagMovedError } from './tag-moved.js';

/** A tag creation as a signed delivery reported it. */
export interface TagCreated {
  tag: string;
  /** The tagged commit when the delivery names it (a push), else null (a create event). */
  sha: string | null;
  /** Who pushed it, e.g. `github:octocat`. */
  actor: string;
  deliveryId: string;
}

export interface IntakeResult {
  tag: string;
  status: ReleaseRecord['status'];
  /** The release existed before this delivery. */
  known: boolean;
  /** A build was queued by this call. */
  queued: boolean;
}

export interface ReleaseIntakeOptions {
  store: Pick<Store, 'getRelease' | 'createRelease' | 'updateRelease' | 'appendEvent' | 'listReleases'>;
  tagPattern: RegExp;
  mirror: Pick<RepoMirror, 'noteChange' | 'fetch' | 'resolveTag' | 'listTags'>;
  builds: { build(tag: string, reason: string): boolean; builds(): ReadonlySet<string> };
  /** Deadline of a background check of a known tag (fetch and resolve). @default 300_000 */
  verifyTimeoutMs?: number;
}

export class ReleaseIntake {
  readonly #options: ReleaseIntakeOptions;
  readonly #pattern: RegExp;
  readonly #closing = new AbortController();
  /** Best effort (event-log.ts): the decision or record is the result; a lost event must not undo it. */
  readonly #events: EventLog;
  /** Background checks that a known tag did not move. */
  readonly #moves: TagMoveChecks;

  constructor(options: ReleaseIntakeOptions) {
    this.#options = options;
    this.#pattern = statelessPattern(options.tagPattern);
    this.#events = new EventLog(options.store);
    this.#moves = new TagMoveChecks({
      mirror: options.mirror,
      deadline: () => this.#deadline(),
      event: (event) => this.#events.record(event),
    });
  }

  /** Refuses what must write nothing: an unsafe tag or SHA (ValidationError), a moved tag (TagMovedError). */
  async check(event: TagCreated): Promise<void> {
    if (!isSafeTag(event.tag)) {
      throw new ValidationError(
        'tag',
        `${describeValue(event.tag)} is not a safe tag: "v" then 1 to 100 of letters, digits, ".", "_", "-"`,
      );
    }
    if (event.sha !== null && !FULL_SHA.test(event.sha))
      throw new ValidationError('sha', `must be 40 lowercase hex digits, got ${describeValue(event.sha)}`);
    const existing = await this.#options.store.getRelease(event.tag);
    if (existing?.sha && event.sha && existing.sha !== event.sha)
      throw new TagMovedError(event.tag, existing.sha, event.sha);
  }

  /** Records the release and queues its build; a known tag is only checked (in the background) for having moved. */
  async accept(event: TagCreated): Promise<IntakeResult> {
    await this.check(event);
    this.#options.mirror.noteChange();
    const existing = await this.#options.store.getRelease(event.tag);
    if (existing) return this.#known(existing, event);
    if (!this.#pattern.test(event.tag))
      return this.#reject(event, `tag ${event.tag} does not match app.tagPattern ${this.#pattern.source}`);
    let created: ReleaseRecord;
    try {
      created = await this.#options.store.createRelease(webhookRelease(event, 'pending', null));
    } catch (err) {
      // The same tag came in another delivery at the same moment (GitHub sends `create` and `push`).
      const now = err instanceof DuplicateKeyError ? await this.#options.store.getRelease(event.tag) : null;
      if (now === null) throw err;
      await this.check(event);
      return this.#known(now, event);
    }
    await this.#events.record({
      reason: 'ReleaseReceived',
      message: `${event.tag} pushed by ${event.actor}: build queued`,
      actor: event.actor,
      data: { tag: event.tag, delivery: event.deliveryId },
    });
    const queued = this.#options.builds.build(event.tag, `tag pushed by ${event.actor} (delivery ${event.deliveryId})`);
    return { tag: event.tag, status: created.status, known: false, queued };
  }

  /**
   * Resets a release to pending and queues its build, whatever a desired state says. Its SHA stays:
   * a rebuild builds the same commit. Throws ValidationError, NotFoundError, or ConflictError while it builds.
   * `announce` runs once the request passed its checks and before the record goes back to pending,
   * so the caller's record of the request (an audit event) comes before any BuildQueued it causes,
   * ours or a pass's that sees the pending record first.
   */
  async rebuild(
    tag: string,
    actor: string,
    announce: () => Promise<void> = async () => undefined,
  ): Promise<ReleaseRecord> {
    assertReleaseTag(tag, this.#pattern);
    if (!(await this.#options.store.getRelease(tag))) throw new NotFoundError(`no release ${tag}`);
    if (this.#options.builds.builds().has(tag))
      throw new ConflictError(`${tag} is being built right now; rebuild it once that build ends`);
    await announce();
    const record = await this.#options.store.updateRelease(tag, {
      status: 'pending',
      error: null,
      build: null,
      test: null,
      interruptions: 0,
      origin: { source: 'operator', actor },
    });
    this.#options.builds.build(tag, `rebuild requested by ${actor}`);
    return record;
  }

  /** Whether the backend repo has `tag` (tag-lookup.ts), within the check deadline; throws RepoUnreachableError. */
  async lookupTag(tag: string): Promise<TagLookup> {
    assertReleaseTag(tag, this.#pattern);
    const { mirror, store } = this.#options;
    const deadline = this.#deadline();
    try {
      return await lookupTag({ mirror, store, pattern: this.#pattern }, tag, deadline.signal);
    } finally {
      deadline.dispose();
    }
  }

  /** Waits for background checks to end (they are cancelled). */
  async close(): Promise<void> {
    this.#closing.abort(new Error('hypervisor is stopping'));
    await this.#moves.close();
  }

  async #reject(event: TagCreated, error: string): Promise<IntakeResult> {
    try {
      await this.#options.store.createRelease(webhookRelease(event, 'rejected', error));
    } catch (err) {
      if (!(err instanceof DuplicateKeyError)) throw err;
    }
    await this.#events.record({
      reason: 'ReleaseRejected',
      message: `${event.tag} is not a release: ${error}`,
      actor: event.actor,
      data: { tag: event.tag, delivery: event.deliveryId },
    });
    return { tag: event.tag, status: 'rejected', known: false, queued: false };
  }

  #known(existing: ReleaseRecord, event: TagCreated): IntakeResult {
    // A delivery without a SHA cannot show a move by itself: the mirror is asked, after the answer.
    if (event.sha === null) this.#moves.queue(existing, event);
    return { tag: existing.tag, status: existing.status, known: true, queued: false };
  }

  /** Ends with the intake, or at the deadline of a check of the repo. */
  #deadline(): Deadline {
    return startDeadline(this.#options.verifyTimeoutMs ?? 300_000, this.#closing.signal);
  }
}

/** The first record of a tag a webhook announced: its identity, no results yet. */
function webhookRelease(
  event: TagCreated,
  status: 'pending' | 'rejected',
  error: string | null,
): Omit<ReleaseRecord, 'createdAt' | 'updatedAt'> {
  return {
    tag: event.tag,
    sha: event.sha,
    version: null,
    author: null,
    status,
    error,
    build: null,
    test: null,
    artifactPath: null,
    origin: { source: 'webhook', actor: event.actor },
  };
}
