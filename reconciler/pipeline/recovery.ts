// What a starting daemon does about builds the previous one left: queue each unfinished build again,
// but only once; and (before any build runs) stop their scripts and git if they still run and
// remove their temporary folders. A build cut short by a restart a
// second time in a row fails, so a build that crashes the host (or a crash loop) cannot run forever;
// so does one cut short while the disk it writes to is full: running it again would only fill it again.
import type { NewEvent, ReleaseRecord } from '../../common/types.js';
import type { Store } from '../../store/store.js';
import { stepReached } from './failed-step.js';
import type { BuildLeftovers } from '../ports.js';

/** Restarts a single build may live through; the next one fails it. */
export const MAX_INTERRUPTIONS = 1;

export interface RecoveryDeps {
  store: Pick<Store, 'listReleases' | 'updateRelease'>;
  /** Queues a build of the tag (a no-op when one is queued already). */
  enqueue(tag: string, reason: string): void;
  /** Best effort (EventLog.record): never rejects. */
  event(event: NewEvent): Promise<void>;
  /** Why builds cannot run now for lack of space (a full build folder, with the fix); null when there is room. */
  fullDisk?(): Promise<string | null>;
}

/** How many releases a start looks at: far more than a host keeps building at once. */
const SCAN_LIMIT = 1000;

export async function recoverBuilds(deps: RecoveryDeps): Promise<void> {
  let full: Promise<string | null> | null = null;
  for (const release of await deps.store.listReleases(SCAN_LIMIT)) {
    switch (release.status) {
      case 'building':
      case 'testing':
      case 'interrupted':
        full ??= deps.fullDisk?.() ?? Promise.resolve(null);
        await resume(release, deps, await full);
        break;
      case 'pending':
        deps.enqueue(release.tag, 'queued before the restart');
        break;
      case 'succeeded':
      case 'failed':
      case 'rejected':
        break;
      default: {
        const never: never = release.status;
        throw new Error(`unknown release status ${String(never)}`);
      }
    }
  }
}

/** Ends what the previous daemon's builds left running and removes their folders; each find is an event. */
export async function clearBuildLeftovers(
  leftovers: BuildLeftovers,
  event: (event: NewEvent) => Promise<void>,
): Promise<void> {
  const cleared = await leftovers.clearLeftovers();
  for (const tag of cleared.tags) {
    await event({
      reason: 'BuildLeftoverStopped',
      message: `scripts of ${tag} left running by the previous daemon were stopped`,
      data: { tag },
    });
  }
  if (cleared.gitProcesses > 0) {
    await event({
      reason: 'BuildLeftoverStopped',
      message: `${cleared.gitProcesses} git processes left running by the previous daemon were stopped`,
      data: { gitProcesses: cleared.gitProcesses },
    });
  }
}

async function resume(release: ReleaseRecord, deps: RecoveryDeps, fullDisk: string | null): Promise<void> {
  const { tag } = release;
  const interruptions = (release.interruptions ?? 0) + 1;
  if (interruptions > MAX_INTERRUPTIONS || fullDisk !== null) {
    const error =
      fullDisk === null
        ? `the hypervisor stopped during this build ${interruptions} times in a row; rebuild it on demand`
        : `the hypervisor stopped during this build, and the disk it writes to is full: ${fullDisk}`;
    await deps.store.updateRelease(tag, { status: 'failed', error, interruptions });
    await deps.event({
      reason: 'BuildFailed',
      message: `build of ${tag} failed: ${error}`,
      data: { tag, interruptions, status: 'failed', step: stepReached(release) },
    });
    return;
  }
  await deps.store.updateRelease(tag, {
    status: 'interrupted',
    error: 'the hypervisor stopped during this build',
    interruptions,
  });
  await deps.event({
    reason: 'BuildInterrupted',
    message: `build of ${tag} was interrupted by a restart; it runs again once`,
    data: { tag, interruptions },
  });
  deps.enqueue(tag, 'interrupted by a restart');
}
