// The loop's builds, around the job queue (jobs.ts): a tag is queued once; its queueing, start and
// end are events; a builder that threw still leaves a release record with a result; and when a
// build ends, its listeners are told and the loop is woken to look at the result.
import type { NewEvent, ReleaseStatus } from '../common/types.js';
import type { Store } from '../store/store.js';
import { BuildJobs, type JobOutcome } from './jobs.js';
import { Listeners } from './listeners.js';
import type { ReleaseBuilder } from './ports.js';

export type BuildFinishedListener = (tag: string, outcome: JobOutcome) => void;

export type BuildRecordStore = Pick<Store, 'getRelease' | 'createRelease' | 'updateRelease'>;

export interface BuildsOptions {
  builder: ReleaseBuilder;
  store: BuildRecordStore;
  /** Best effort (EventLog.record): never rejects, so a lost event never fails a build. */
  event(event: NewEvent): Promise<void>;
  /** Called once a build's result is recorded and told: the loop looks at it. */
  wake(): void;
}

export class Builds {
  readonly #options: BuildsOptions;
  readonly #jobs: BuildJobs;
  readonly #finished = new Listeners<[tag: string, outcome: JobOutcome]>();
  #closed = false;

  constructor(options: BuildsOptions) {
    this.#options = options;
    this.#jobs = new BuildJobs(options.builder, {
      started: (tag) => void options.event({ reason: 'BuildStarted', message: `building ${tag}`, data: { tag } }),
      finished: (tag, outcome) => void this.#ended(tag, outcome),
    });
  }

  /**
   * Queues a build of `tag` whether or not a desired state names it (a webhook release, a rebuild);
   * false when one is queued or running already, or the loop is closing.
   */
  build(tag: string, reason: string): boolean {
    if (this.#closed || this.#jobs.has(tag)) return false;
    // The cause is written before the effect: an idle queue starts the job inside enqueue(), and
    // its BuildStarted must get a later id than this BuildQueued (the store numbers events in the
    // order appendEvent is called).
    void this.#options.event({ reason: 'BuildQueued', message: `build of ${tag} queued: ${reason}`, data: { tag } });
    return this.#jobs.enqueue(tag);
  }

  /** Tags whose build is queued or running. */
  tags(): ReadonlySet<string> {
    return this.#jobs.tags();
  }

  /** Called after each build ends and its result is recorded; returns an unsubscribe. */
  onFinished(listener: BuildFinishedListener): () => void {
    return this.#finished.add(listener);
  }

  /** Queues nothing more, cancels every build and waits until none runs. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#jobs.close();
  }

  async #ended(tag: string, outcome: JobOutcome): Promise<void> {
    try {
      await recordCrashedBuild(this.#options.store, tag, outcome).catch((err: unknown) =>
        console.error(`hypervisor: cannot record the result of the build of ${tag}: ${(err as Error).message}`),
      );
      await this.#options.event({
        reason: finishedReason(outcome.status),
        message: `build of ${tag} ${outcome.status}${outcome.error ? `: ${outcome.error}` : ''}`,
        // The facts a notification quotes (notify/triggers.ts): never parsed back out of the message.
        data: { tag, status: outcome.status, step: outcome.step },
      });
    } finally {
      this.#finished.tell(tag, outcome);
      this.#options.wake();
    }
  }
}

/** The event that says how a build ended, from the status it left its release in. */
export function finishedReason(status: ReleaseStatus): 'BuildSucceeded' | 'BuildInterrupted' | 'BuildFailed' {
  switch (status) {
    case 'succeeded':
      return 'BuildSucceeded';
    case 'interrupted':
      return 'BuildInterrupted';
    // A builder never leaves a release mid-way (ports.ts): one that did ended without a result.
    case 'failed':
    case 'rejected':
    case 'pending':
    case 'building':
    case 'testing':
      return 'BuildFailed';
    default: {
      const never: never = status;
      throw new Error(`unknown release status ${JSON.stringify(never)}`);
    }
  }
}

/** A result no build changes any more; an interrupted release is built again at the next start. */
function isFinal(status: ReleaseStatus): boolean {
  switch (status) {
    case 'succeeded':
    case 'failed':
    case 'rejected':
      return true;
    case 'pending':
    case 'building':
    case 'testing':
    case 'interrupted':
      return false;
    default: {
      const never: never = status;
      throw new Error(`unknown release status ${JSON.stringify(never)}`);
    }
  }
}

/**
 * A builder that threw may have left no record with a result: write a failed one, or plan() would
 * queue the build forever. A record the build left in its own outcome (interrupted too: that is a
 * result, pipeline/recovery.ts runs it again) or in a final status is kept.
 */
export async function recordCrashedBuild(store: BuildRecordStore, tag: string, outcome: JobOutcome): Promise<void> {
  const record = await store.getRelease(tag);
  if (record && (record.status === outcome.status || isFinal(record.status))) return;
  const error = outcome.error ?? 'the build ended without a result';
  if (record) {
    await store.updateRelease(tag, { status: 'failed', error });
    return;
  }
  await store.createRelease({
    tag,
    sha: null,
    version: null,
    author: null,
    status: 'failed',
    error,
    build: null,
    test: null,
    artifactPath: null,
  });
}
