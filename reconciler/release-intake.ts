// Where tags enter the pipeline: a signed webhook delivery said a tag was created, or an operator
// asked for a rebuild. Only quick store writes happen while the caller waits (the webhook answers
// within a second); fetching and building run as queued work. A release keeps the SHA it was first
// seen at: a tag that moved afterwards is refused and the record stays as it was.
import PQueue from 'p-queue';
import { describeValue } from '../common/describe.js';
import { ConflictError, DuplicateKeyError, HypervisorError, NotFoundError, ValidationError } from '../common/errors.js';
import { FULL_SHA, isSafeTag, statelessPattern } from '../common/git-names.js';
import type { NewEvent, ReleaseRecord } from '../common/types.js';
import { newestTags } from '../desired-state/tags.js';
import type { Store } from '../store/store.js';
import { EventLog } from '../store/event-log.js';
import type { RepoMirror } from './pipeline/mirror.js';
import { assertReleaseTag } from './pipeline/tag.js';

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

/** Whether a tag exists in the backend repo, and the newest ones that do (for a refusal). */
export interface TagLookup {
  inRepo: boolean;
  newest: string[];
}

/** The backend repo could not be fetched and the mirror does not have the tag: nobody can tell yet. */
export class RepoUnreachableError extends HypervisorError {
  constructor(tag: string, cause: unknown) {
    super(
      'repo_unreachable',
      `cannot tell whether ${tag} exists: fetching the backend repo failed ` +
        `(${(cause as Error).message}); try again once it is reachable`,
      { cause },
    );
  }
}

/** How many existing tags a refusal of an unknown one names. */
const NEWEST_SHOWN = 5;

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
  /** Background checks of known tags, one at a time; bounded so a flood of deliveries cannot pile up work. */
  readonly #checks = new PQueue({ concurrency: 1 });
  readonly #closing = new AbortController();
  readonly #events: EventLog;

  constructor(options: ReleaseIntakeOptions) {
    this.#options = options;
    this.#pattern = statelessPattern(options.tagPattern);
    this.#events = new EventLog(options.store);
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
    await this.#event({
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

  /**
   * Fetches the mirror, then says whether it has `tag`. When it has not, names the newest tags
   * that match the pattern, from the repo and the release records. A failed fetch is an answer
   * only when the mirror already has the tag; otherwise it throws RepoUnreachableError.
   */
  async lookupTag(tag: string): Promise<TagLookup> {
    assertReleaseTag(tag, this.#pattern);
    const signal = AbortSignal.any([
      this.#closing.signal,
      AbortSignal.timeout(this.#options.verifyTimeoutMs ?? 300_000),
    ]);
    const fetched = await this.#options.mirror.fetch(signal).then(
      () => null,
      (err: unknown) => err,
    );
    if ((await this.#options.mirror.resolveTag(tag, signal)) !== null) return { inRepo: true, newest: [] };
    if (fetched !== null) throw new RepoUnreachableError(tag, fetched);
    const recorded = (await this.#options.store.listReleases(100)).map((r) => r.tag);
    const known = [...(await this.#options.mirror.listTags(signal)), ...recorded].filter((t) => this.#pattern.test(t));
    return { inRepo: false, newest: newestTags(known, NEWEST_SHOWN) };
  }

  /** Waits for background checks to end (they are cancelled). */
  async close(): Promise<void> {
    this.#closing.abort(new Error('hypervisor is stopping'));
    this.#checks.clear();
    await this.#checks.onIdle();
  }

  async #reject(event: TagCreated, error: string): Promise<IntakeResult> {
    try {
      await this.#options.store.createRelease(webhookRelease(event, 'rejected', error));
    } catch (err) {
      if (!(err instanceof DuplicateKeyError)) throw err;
    }
    await this.#event({
      reason: 'ReleaseRejected',
      message: `${event.tag} is not a release: ${error}`,
      actor: event.actor,
      data: { tag: event.tag, delivery: event.deliveryId },
    });
    return { tag: event.tag, status: 'rejected', known: false, queued: false };
  }

  #known(existing: ReleaseRecord, event: TagCreated): IntakeResult {
    // A delivery without a SHA cannot show a move by itself: the mirror is asked, after the answer.
    if (existing.sha !== null && event.sha === null && this.#checks.size < 100)
      void this.#checks.add(() => this.#verify(existing, event));
    return { tag: existing.tag, status: existing.status, known: true, queued: false };
  }

  async #verify(existing: ReleaseRecord, event: TagCreated): Promise<void> {
    const signal = AbortSignal.any([
      this.#closing.signal,
      AbortSignal.timeout(this.#options.verifyTimeoutMs ?? 300_000),
    ]);
    try {
      await this.#options.mirror.fetch(signal);
      const info = await this.#options.mirror.resolveTag(existing.tag, signal);
      if (info === null || info.commit === existing.sha) return;
      const error = new TagMovedError(existing.tag, existing.sha!, info.commit);
      await this.#event({
        reason: 'TagMoved',
        message: error.message,
        actor: event.actor,
        data: { tag: existing.tag, delivery: event.deliveryId, sha: info.commit },
      });
    } catch (err) {
      if (signal.aborted) return;
      await this.#event({
        reason: 'TagCheckFailed',
        message: `could not check whether ${existing.tag} moved: ${(err as Error).message}`,
        data: { tag: existing.tag },
      });
    }
  }

  /** Best effort (event-log.ts): the decision or record is the result; a lost event must not undo it. */
  #event(event: NewEvent): Promise<void> {
    return this.#events.record(event);
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
