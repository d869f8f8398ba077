// The log archive's nouns, shared by the room that archives (archive/), the store that records what
// is archived (store/), and the rooms that hand it logs or read them back (reconciler/, api/). The
// ports are here so a step, retention and the logs route reach the archive without importing it.
import type { Readable } from 'node:stream';
import { HypervisorError } from './errors.js';

/** What an archived object holds: one step's log of a release, or one day of deliveries or of the ledger. */
export type ArchiveKind = 'log' | 'deliveries' | 'ledger';
export const ARCHIVE_KINDS: readonly ArchiveKind[] = ['log', 'deliveries', 'ledger'];

/**
 * `pending`: queued, not uploaded yet (a restart uploads it); `uploaded`: in the bucket, with its hash;
 * `missing`: its local file was gone before it could be uploaded, so there is nothing to upload.
 */
export type ArchiveState = 'pending' | 'uploaded' | 'missing';
export const ARCHIVE_STATES: readonly ArchiveState[] = ['pending', 'uploaded', 'missing'];

/** Where an object was put: the bucket and its full key (prefix included) at the time of the upload. */
export interface ArchiveLocation {
  bucket: string;
  key: string;
}

/** The store's record of one archived object (collection `archive_objects`, unique `name`). */
export interface ArchiveObject {
  /** The key below the configured prefix: `<tag>/<step>.log`, `deliveries/<YYYY-MM-DD>.jsonl`, ... */
  name: string;
  kind: ArchiveKind;
  /** A log's local file, or the day (`YYYY-MM-DD`, UTC) a daily export covers. */
  source: string;
  state: ArchiveState;
  /**
   * Bumped each time the object is queued again (a rebuild writes a new log under the same name): the
   * outcome of an upload started for an older generation changes nothing.
   */
  generation: number;
  /** Set when uploaded: where, the SHA-256 (hex) of the bytes (also in the object's metadata), their count. */
  location: ArchiveLocation | null;
  sha256: string | null;
  size: number | null;
  /** Failed uploads since it was queued, and the last one's cause. */
  attempts: number;
  lastError: string | null;
  queuedAt: string;
  updatedAt: string;
  uploadedAt: string | null;
}

export type NewArchiveObject = Pick<ArchiveObject, 'name' | 'kind' | 'source'>;

/** How one upload of one generation ended. */
export type ArchiveOutcome =
  | { state: 'uploaded'; location: ArchiveLocation; sha256: string; size: number }
  | { state: 'failed'; error: string }
  | { state: 'missing'; error: string };

/**
 * Where a finished step's log goes besides its local file. The pipeline tells it when BUILD or TEST
 * ends (a later step -- smoke -- is one more call); it returns at once and never waits on the archive.
 */
export interface StepLogSink {
  stepEnded(tag: string, step: string, file: string): void;
}

/** A log read back from the archive. */
export interface ArchivedLog {
  /** The bytes, checked against `sha256` as they stream: a copy that differs ends in an error. */
  body: Readable;
  /** `s3://bucket/key`, for the operator. */
  location: string;
  sha256: string;
  size: number;
}

/** What retention and the logs route ask of the archive. */
export interface ArchivedLogs {
  /** Whether the archive holds exactly the bytes of `file` (the log of `step` of `tag`): then it may go. */
  holds(tag: string, step: string, file: string): Promise<boolean>;
  /** The archived log of `step` of `tag`, or null when there is none. */
  open(tag: string, step: string): Promise<ArchivedLog | null>;
}

/** No archive: steps' logs stay where they are, and nothing is ever said to be archived. */
export const NO_ARCHIVE: StepLogSink & ArchivedLogs = {
  stepEnded: () => undefined,
  holds: async () => false,
  open: async () => null,
};

/** The archive holds the object but cannot be read now (the store is down, refuses the keys, ...). */
export class ArchiveUnavailableError extends HypervisorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('archive_unavailable', message, options);
  }
}
