// Typed errors shared by every layer. Callers match them by class, never by message text.

/** Base class: `code` is stable and machine-readable; the message tells the operator what to do. */
export class HypervisorError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Input that does not satisfy a schema: a config key, a desired-state document, a tag. */
export class ValidationError extends HypervisorError {
  /** Dotted path of the offending key, e.g. `colors.green.tag`. */
  readonly path: string;
  constructor(path: string, message: string) {
    super('invalid', path ? `${path}: ${message}` : message);
    this.path = path;
  }
}

/** A write based on a stale revision (If-Match) or a unique key that already exists. */
export class ConflictError extends HypervisorError {
  constructor(message: string) {
    super('conflict', message);
  }
}

/** A write guarded by a revision (If-Match) whose revision is no longer the latest: a failed precondition. */
export class StaleRevisionError extends ConflictError {
  readonly expected: number;
  readonly latest: number;
  constructor(expected: number, latest: number, message: string) {
    super(message);
    this.expected = expected;
    this.latest = latest;
  }
}

/**
 * A change that would leave no color serving while one serves now, and does not say it means to
 * (ARCHITECTURE.md: no self-inflicted outage by accident). The message names how to confirm.
 */
export class WouldStopTrafficError extends HypervisorError {
  constructor(message: string) {
    super('would_stop_traffic', message);
  }
}

export class NotFoundError extends HypervisorError {
  constructor(message: string) {
    super('not_found', message);
  }
}

/** A store key that must be unique already exists (delivery id, tag, username). */
export class DuplicateKeyError extends HypervisorError {
  readonly key: string;
  constructor(key: string, message: string) {
    super('duplicate', message);
    this.key = key;
  }
}

/**
 * The store is damaged (a failed integrity check, a corrupt page): the call was refused or rolled
 * back and nothing of it was written. `fix` tells the operator what to do about it.
 */
export class StoreDamagedError extends HypervisorError {
  readonly fix: string;
  constructor(message: string, fix: string, options?: { cause?: unknown }) {
    super('store_damaged', `${message}; ${fix}`, options);
    this.fix = fix;
  }
}

/** git failed, timed out or was cancelled; the message is git's own, for the operator. */
export class GitError extends HypervisorError {
  /** The command that failed (`['git', 'fetch', ...]`); null when git answered but not as expected. */
  readonly command: readonly string[] | null;
  /** The end of git's stderr; '' when it printed nothing or did not run. */
  readonly stderr: string;
  constructor(message: string, options: { cause?: unknown; command?: readonly string[]; stderr?: string } = {}) {
    super('git_failed', message, { cause: options.cause });
    this.command = options.command ?? null;
    this.stderr = options.stderr ?? '';
  }
}
