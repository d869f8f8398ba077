// The log archive in the daemon: started from `archive.s3` (a key file that cannot be read stops the
// daemon), closed before the store, and its `Archived` condition carried into the loop's status. The
// archive (and the AWS SDK with it) is loaded on demand: a host without one never loads it.
import type { LogArchive } from '../archive/archive.js';
import type { Config } from '../config/config.js';
import type { Loop } from '../reconciler/loop.js';
import { EventLog } from '../store/event-log.js';
import type { Store } from '../store/store.js';

export async function startLogArchive(
  config: Config,
  store: Store,
  closers: Array<() => Promise<unknown>>,
): Promise<LogArchive | null> {
  if (config.archive === null) return null;
  const { LogArchive } = await import('../archive/archive.js');
  const events = new EventLog(store, 'archive');
  const archive = await LogArchive.start({
    config: config.archive.s3,
    root: config.root,
    store,
    event: (event) => events.record(event),
  });
  closers.unshift(() => archive.close());
  return archive;
}

/** The archive's condition in the status from now on (hyperctl status lists it as a problem while False). */
export function reportArchive(
  archive: LogArchive | null,
  reconciler: Loop,
  closers: Array<() => Promise<unknown>>,
): void {
  if (archive === null) return;
  reconciler.reportCondition(archive.condition());
  const unsubscribe = archive.onConditionChange((condition) => reconciler.reportCondition(condition));
  closers.unshift(async () => unsubscribe());
}
