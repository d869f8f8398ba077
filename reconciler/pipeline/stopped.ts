// How a run ends before success. The status and the message go into the release record as they are.
import { HypervisorError } from '../../common/errors.js';

export type StopStatus = 'rejected' | 'failed' | 'interrupted';

export class ReleaseStopped extends HypervisorError {
  readonly status: StopStatus;
  /** `cause` is a WriteFailedError when the disk stopped the run (the message then says so already). */
  constructor(status: StopStatus, message: string, options?: { cause?: unknown }) {
    super(`release_${status}`, message, options);
    this.status = status;
  }
}

export function checkpoint(signal: AbortSignal): void {
  if (signal.aborted) throw new ReleaseStopped('interrupted', reasonOf(null, signal));
}

export function reasonOf(err: unknown, signal: AbortSignal): string {
  if (signal.aborted) {
    const reason: unknown = signal.reason;
    return `cancelled: ${reason instanceof Error ? reason.message : String(reason)}`;
  }
  return err instanceof Error ? err.message : String(err);
}
