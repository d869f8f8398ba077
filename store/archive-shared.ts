// What both adapters' archive records share: the checks of what is queued, the transitions of a
// record, and the copy that keeps a stored record's extra fields (_id, seq) from reaching a caller.
import {
  ARCHIVE_KINDS,
  ARCHIVE_STATES,
  type ArchiveKind,
  type ArchiveObject,
  type ArchiveOutcome,
  type ArchiveState,
  type NewArchiveObject,
} from '../common/archive.js';
import { ValidationError } from '../common/errors.js';
import type { TimeRange } from './archive-records.js';

/** Segments of safe characters joined by single slashes: a key below any prefix, never `..`. */
const NAME = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;
const NAME_MAX = 512;
/** A failure's cause is kept for the status line, not as a log. */
const ERROR_MAX = 1000;

export function checkEntry(entry: NewArchiveObject): NewArchiveObject {
  const { name, kind, source } = entry;
  if (typeof name !== 'string' || name.length > NAME_MAX || !NAME.test(name) || name.split('/').includes('..')) {
    throw new ValidationError('name', `must be a key like v26.11.27.0/build.log, got ${JSON.stringify(name)}`);
  }
  if (!ARCHIVE_KINDS.includes(kind)) {
    throw new ValidationError('kind', `must be one of ${ARCHIVE_KINDS.join(', ')}, got ${JSON.stringify(kind)}`);
  }
  if (typeof source !== 'string' || source === '') {
    throw new ValidationError('source', `must be a file or a day, got ${JSON.stringify(source)}`);
  }
  return { name, kind, source };
}

export function checkFilter(filter: { state?: ArchiveState; kind?: ArchiveKind }): void {
  if (filter.state !== undefined && !ARCHIVE_STATES.includes(filter.state)) {
    throw new ValidationError('state', `must be one of ${ARCHIVE_STATES.join(', ')}, got ${String(filter.state)}`);
  }
  if (filter.kind !== undefined && !ARCHIVE_KINDS.includes(filter.kind)) {
    throw new ValidationError('kind', `must be one of ${ARCHIVE_KINDS.join(', ')}, got ${String(filter.kind)}`);
  }
}

export function checkRange(range: TimeRange): TimeRange {
  for (const key of ['from', 'to'] as const) {
    if (typeof range[key] !== 'string' || Number.isNaN(Date.parse(range[key]))) {
      throw new ValidationError(key, `must be an ISO-8601 time, got ${JSON.stringify(range[key])}`);
    }
  }
  return range;
}

/** The record a queue() writes: a first generation, or the next one of what is stored. */
export function queued(current: ArchiveObject | null, entry: NewArchiveObject, now: string): ArchiveObject {
  return {
    ...entry,
    state: 'pending',
    generation: (current?.generation ?? 0) + 1,
    location: null,
    sha256: null,
    size: null,
    attempts: 0,
    lastError: null,
    queuedAt: now,
    updatedAt: now,
    uploadedAt: null,
  };
}

/** The record after an upload of its current generation ended with `outcome`. */
export function settled(current: ArchiveObject, outcome: ArchiveOutcome, now: string): ArchiveObject {
  switch (outcome.state) {
    case 'uploaded': {
      const { location, sha256, size } = outcome;
      return {
        ...current,
        state: 'uploaded',
        location: { ...location },
        sha256,
        size,
        updatedAt: now,
        uploadedAt: now,
      };
    }
    case 'missing':
      return { ...current, state: 'missing', lastError: cause(outcome.error), updatedAt: now };
    case 'failed':
      return { ...current, attempts: current.attempts + 1, lastError: cause(outcome.error), updatedAt: now };
    default: {
      const unknown: never = outcome;
      throw new ValidationError('outcome', `unknown outcome ${JSON.stringify(unknown)}`);
    }
  }
}

function cause(error: string): string {
  return error.length > ERROR_MAX ? `${error.slice(0, ERROR_MAX - 3)}...` : error;
}

export function copyArchiveObject(o: ArchiveObject): ArchiveObject {
  return {
    name: o.name,
    kind: o.kind,
    source: o.source,
    state: o.state,
    generation: o.generation,
    location: o.location ? { bucket: o.location.bucket, key: o.location.key } : null,
    sha256: o.sha256 ?? null,
    size: o.size ?? null,
    attempts: o.attempts,
    lastError: o.lastError ?? null,
    queuedAt: o.queuedAt,
    updatedAt: o.updatedAt,
    uploadedAt: o.uploadedAt ?? null,
  };
}
