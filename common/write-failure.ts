// A write the host refused: a full disk, a failing one, a folder the daemon may not write. Every
// write of the product (logs, artifacts, unit files, the desired file, the store) turns such an
// errno into this one error, naming the path and the cause in words, with what to do about it, so
// it can end as a failed step, an event or a refused request: never as an unhandled error.
import { diskFix } from './disk-space.js';
import { HypervisorError } from './errors.js';

/** The causes a write may meet from the host, as errno names; anything else is not a write failure. */
export type WriteCause = 'ENOSPC' | 'EDQUOT' | 'EFBIG' | 'EIO' | 'EROFS' | 'EACCES' | 'EPERM';

const WORDS: Record<WriteCause, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large',
  EIO: 'input/output error',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
};

export class WriteFailedError extends HypervisorError {
  /** The file or folder that could not be written. */
  readonly path: string;
  readonly writeCause: WriteCause;
  readonly fix: string;

  constructor(path: string, cause: WriteCause, options?: { cause?: unknown }) {
    const fix = fixFor(path, cause);
    super(isSpace(cause) ? 'insufficient_storage' : 'write_failed', `${WORDS[cause]} at ${path}; fix: ${fix}`, options);
    this.path = path;
    this.writeCause = cause;
    this.fix = fix;
  }

  /** Out of space (or quota): the disk must be freed, nothing is wrong with the request itself. */
  get noSpace(): boolean {
    return isSpace(this.writeCause);
  }
}

function isSpace(cause: WriteCause): boolean {
  return cause === 'ENOSPC' || cause === 'EDQUOT' || cause === 'EFBIG';
}

function fixFor(path: string, cause: WriteCause): string {
  switch (cause) {
    case 'ENOSPC':
    case 'EDQUOT':
    case 'EFBIG':
      return `${diskFix(path)}, then try again`;
    case 'EACCES':
    case 'EPERM':
      return `give ${path} and its folder to the user the daemon runs as`;
    case 'EIO':
    case 'EROFS':
      return `check the disk of ${path} (dmesg): it fails or was remounted read-only`;
    default: {
      const never: never = cause;
      return String(never);
    }
  }
}

/** The write cause of `err` (an errno exception or a WriteFailedError), or null when it is something else. */
export function writeCauseOf(err: unknown): WriteCause | null {
  if (err instanceof WriteFailedError) return err.writeCause;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code in WORDS ? (code as WriteCause) : null;
}

/** `err` as a WriteFailedError about `path` when the host refused the write; otherwise `err` unchanged. */
export function asWriteFailure(err: unknown, path: string): unknown {
  if (err instanceof WriteFailedError) return err;
  const cause = writeCauseOf(err);
  return cause === null ? err : new WriteFailedError(path, cause, { cause: err });
}

/** Runs a write of `path`; a refusal by the host rejects with WriteFailedError, anything else as it was. */
export async function guardWrite<T>(path: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    throw asWriteFailure(err, path);
  }
}

/** The same for a synchronous write. */
export function guardWriteSync<T>(path: string, write: () => T): T {
  try {
    return write();
  } catch (err) {
    throw asWriteFailure(err, path);
  }
}
