// What a starting daemon does about builds the previous one left: stop their scripts if they still
// run, then queue each unfinished build again, but only once. A build cut short by a restart a
// second time in a row fails, so a build that crashes the host (or a crash loop) cannot run forever.
import type { NewEvent, ReleaseRecord } from '../../common/types.js';
import type { Store } from '../../store/store.js';
import { stopLeftoverGroups } from './leftovers.js';

/** Restarts a single build may live through; the next one fails it. */
export const MAX_INTERRUPTIONS = 1;

export interface RecoveryDeps {
  store: Pick<Store, 'listReleases' | 'updateRelease'>;
  /** Queues a build of the tag (a no-op when one is queued already). */
  enqueue(tag: string, reason: string): void;
  event(event: NewEvent): Promise<void>;
  /** Where running script groups are marked; null when the builder keeps no marks. */
  marksDir: string | null;
  killGraceMs: number;
}

/** How many releases a start looks at: far more than a host keeps building at once. */
const SCAN_LIMIT = 1000;

export async function recoverBuilds(deps: RecoveryDeps): Promise<void> {
  if (deps.marksDir !== null) {
    for (const tag of await stopLeftoverGroups(deps.marksDir, deps.killGraceMs)) {
      await deps.event({
        reason: 'BuildLeftoverStopped',
        message: `scripts of ${tag} left running by the previous daemon were stopped`,
        data: { tag },
      });
    }
  }
  for (const release of await deps.store.listReleases(SCAN_LIMIT)) {
    switch (release.status) {
      case 'building':
      case 'testing':
      case 'interrupted':
        await resume(release, deps);
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

async function resume(release: ReleaseRecord, deps: RecoveryDeps): Promise<void> {
  const { tag } = release;
  const interruptions = (release.interruptions ?? 0) + 1;
  if (interruptions > MAX_INTERRUPTIONS) {
    const error = `the hypervisor stopped during this build ${interruptions} times in a row; rebuild it on demand`;
    await deps.store.updateRelease(tag, { status: 'failed', error, interruptions });
    await deps.event({
      reason: 'BuildFailed',
      message: `build of ${tag} failed: ${error}`,
      data: { tag, interruptions },
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
