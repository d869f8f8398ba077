// Desired state over time: every accepted change is a new revision in the store. This service is
// the only writer path in this process (API, file, git, conveniences all go through it), so
// validation, "identical writes nothing", and optimistic concurrency live in one place.
import { ConflictError, StaleRevisionError, StoreDamagedError, ValidationError } from '../common/errors.js';
import { type DesiredDoc, type NewEvent, type Revision, type StoreHealth } from '../common/types.js';
import {
  checkOutage,
  describeChange,
  emptyDesired,
  readDesired,
  sameDesired,
  validateDesired,
  type OutageConsent,
} from './document.js';
import { revisionEvent } from './revision-event.js';

/**
 * The part of the store this service needs. Declared here, structurally, so desired-state does not
 * import store/; the Store port satisfies it as is.
 */
export interface RevisionLog {
  latestRevision(): Promise<Revision | null>;
  /**
   * Must throw ConflictError when `expected` is given and is not the latest number (0 = none yet).
   * Stores the events `events` builds from the new revision in the same transaction, or nothing.
   */
  appendRevision(
    input: { doc: DesiredDoc; source: string; author: string; expected?: number },
    events?: (revision: Revision) => readonly NewEvent[],
  ): Promise<Revision>;
  getRevision(number: number): Promise<Revision | null>;
  /** Newest first. */
  listRevisions(limit: number): Promise<Revision[]>;
  /** While `damaged`, appends are refused: checked first, so nothing is pushed to a config repo either. */
  health(): StoreHealth;
}

/** Who makes a change, and (see checkOutage) whether it may leave no color serving. */
export interface ChangeMeta extends OutageConsent {
  /** Where the change came from: `api`, `file`, `git@<sha>`, ... */
  source: string;
  author: string;
  /**
   * The events that record this change (an operator's audit line), stored with the new revision in
   * one transaction: both or neither, followed by the revision's own event (revisionEvent). Not
   * called when nothing changed.
   */
  events?: (revision: Revision) => readonly NewEvent[];
}

export interface ApplyMeta extends ChangeMeta {
  /** The revision the caller based its change on (If-Match); 0 = "no revision yet". */
  expected?: number;
}

export interface ApplyResult {
  /** The new revision, or the latest one when nothing changed. */
  revision: Revision;
  changed: boolean;
}

export interface DesiredChange {
  revision: Revision;
  previous: Revision | null;
  /** Human lines, e.g. `green: v1 -> v2`; see describeChange. */
  lines: string[];
}

export type ChangeListener = (change: DesiredChange) => void;

/** A revision about to be stored. */
export interface PendingRevision {
  doc: DesiredDoc;
  previous: Revision | null;
  source: string;
  author: string;
}

/**
 * Carries a new revision out before it is stored, e.g. commits and pushes it to a config repo, so
 * the repo's history is the desired-state history. `store` appends the revision: the hook calls it
 * after its own write and inside whatever serialises its writes, so that no other write of this
 * process can come between its check of the base and the append (a revision refused after the
 * push would leave its commit behind). Throwing aborts the write; a ConflictError makes update()
 * redo its read-modify-write on top of the newer state. Not called for revisions that come from
 * that repo itself (source `git@...`).
 */
export type WriteThrough = (change: PendingRevision, store: () => Promise<Revision>) => Promise<Revision>;

export interface DesiredStateOptions {
  /** Read-modify-write attempts before a ConflictError reaches the caller. @default 5 */
  maxAttempts?: number;
  /**
   * Where a throwing change listener's error goes. The revision is already written, so the error
   * must not fail the write. @default process.emitWarning
   */
  onListenerError?: (err: unknown) => void;
}

export class DesiredStateService {
  readonly tagPattern: RegExp;
  readonly #log: RevisionLog;
  readonly #maxAttempts: number;
  readonly #onListenerError: (err: unknown) => void;
  readonly #listeners = new Set<ChangeListener>();
  #writeThrough: WriteThrough | null = null;

  constructor(log: RevisionLog, tagPattern: RegExp, options: DesiredStateOptions = {}) {
    const maxAttempts = options.maxAttempts ?? 5;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 100) {
      throw new RangeError(`maxAttempts must be an integer from 1 to 100, got ${maxAttempts}`);
    }
    this.#log = log;
    this.tagPattern = tagPattern;
    this.#maxAttempts = maxAttempts;
    this.#onListenerError = options.onListenerError ?? warnListenerError;
  }

  current(): Promise<Revision | null> {
    return this.#log.latestRevision();
  }

  /**
   * Validates `doc` and writes it as a new revision unless it equals the latest one. With
   * `expected`, a stale base throws ConflictError (also when the doc is identical: the caller's
   * view is out of date either way). Without it, the write is retried against the newest revision.
   */
  async apply(doc: unknown, meta: ApplyMeta): Promise<ApplyResult> {
    const { doc: next, allowOutage } = readDesired(doc, this.tagPattern);
    // The document may confirm an outage itself (`allowOutage: true`), as well as its caller.
    const change = { ...meta, allowOutage: meta.allowOutage === true || allowOutage };
    const { expected } = meta;
    if (expected === undefined) return this.#writeLoop(() => next, change);
    checkExpected(expected);
    const latest = await this.#log.latestRevision();
    const latestNumber = latest?.number ?? 0;
    if (latestNumber !== expected) throw staleRevision(expected, latestNumber);
    return this.#write(latest, next, { ...change, expected });
  }

  /**
   * Read-modify-write: `mutator` gets a copy of the current document (empty when there is none)
   * and returns the next one, which is validated. On a concurrent write the whole step is redone
   * against the newer revision, a few times. Errors thrown by the mutator reach the caller.
   */
  update(mutator: (doc: DesiredDoc) => DesiredDoc, meta: ChangeMeta): Promise<ApplyResult> {
    return this.#writeLoop((base) => validateDesired(mutator(base), this.tagPattern), meta);
  }

  /** One revision by number; null when there is no such revision. */
  revision(number: number): Promise<Revision | null> {
    if (!Number.isInteger(number) || number < 1) {
      throw new ValidationError('revision', `must be a revision number (1 or more), got ${number}`);
    }
    return this.#log.getRevision(number);
  }

  setWriteThrough(hook: WriteThrough | null): void {
    this.#writeThrough = hook;
  }

  /** Newest first. */
  history(limit: number): Promise<Revision[]> {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new ValidationError('limit', `must be a positive integer, got ${limit}`);
    }
    return this.#log.listRevisions(limit);
  }

  /**
   * Called after this service writes a new revision (not for writes by other hosts sharing the
   * store: the reconciler sees those on its next level-triggered read). Returns an unsubscribe.
   */
  onChange(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async #writeLoop(next: (base: DesiredDoc) => DesiredDoc, meta: ChangeMeta): Promise<ApplyResult> {
    for (let attempt = 1; ; attempt++) {
      const latest = await this.#log.latestRevision();
      const doc = next(latest ? structuredClone(latest.doc) : emptyDesired());
      try {
        return await this.#write(latest, doc, { ...meta, expected: latest?.number ?? 0 });
      } catch (err) {
        // No sleep: a conflict means a newer revision exists, so reading it again is the fix.
        if (!(err instanceof ConflictError) || attempt >= this.#maxAttempts) throw err;
      }
    }
  }

  async #write(
    latest: Revision | null,
    doc: DesiredDoc,
    input: ApplyMeta & { expected: number },
  ): Promise<ApplyResult> {
    // The first revision is always written, even an empty one: it records who declared the state.
    if (latest && sameDesired(latest.doc, doc)) return { revision: latest, changed: false };
    checkOutage(latest?.doc ?? null, doc, input);
    const health = this.#log.health();
    if (health.state === 'damaged') throw new StoreDamagedError(health.detail, health.fix);
    const { source, author, expected } = input;
    // The caller's events (an operator's audit line, the cause) first, then the revision's own.
    const events = (revision: Revision): NewEvent[] => [
      ...(input.events?.(revision) ?? []),
      revisionEvent(revision, latest),
    ];
    const append = (): Promise<Revision> => this.#log.appendRevision({ doc, source, author, expected }, events);
    const revision =
      this.#writeThrough && !source.startsWith('git@')
        ? await this.#writeThrough({ doc, previous: latest, source, author }, append)
        : await append();
    this.#emit({ revision, previous: latest, lines: describeChange(latest?.doc ?? emptyDesired(), doc) });
    return { revision, changed: true };
  }

  #emit(change: DesiredChange): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(change);
      } catch (err) {
        this.#onListenerError(err);
      }
    }
  }
}

function checkExpected(expected: number): void {
  if (!Number.isInteger(expected) || expected < 0) {
    throw new ValidationError('expected', `must be a revision number (0 or more), got ${expected}`);
  }
}

/** The caller based its change on `expected`, but the desired state has moved on to `latest`. */
export function staleRevision(expected: number, latest: number): StaleRevisionError {
  return new StaleRevisionError(
    expected,
    latest,
    `desired state is at revision ${latest}, not ${expected}; read it again and retry`,
  );
}

function warnListenerError(err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  process.emitWarning(`desired-state change listener failed: ${message}`, 'DesiredStateListenerWarning');
}
