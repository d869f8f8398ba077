// The one place where every accepted desired-state revision becomes an event, whatever its source
// (api, file, git@<sha>, webhook, policy, ...): `revision 12 from file: green v26.11.27.1 -> v26.11.27.3`.
// The revision is already stored when the event is written, so a failed event write is logged
// and never fails the write.
import type { Revision } from '../common/types.js';
import { changedFields, emptyDesired } from '../desired-state/document.js';
import type { DesiredStateService } from '../desired-state/revisions.js';
import type { Store } from '../store/store.js';

/** Records each revision this process writes; returns the unsubscribe. */
export function recordRevisions(
  desired: Pick<DesiredStateService, 'onChange'>,
  store: Pick<Store, 'appendEvent'>,
  log: (line: string) => void,
): () => void {
  return desired.onChange((change) => {
    const { revision } = change;
    store
      .appendEvent({
        reason: 'DesiredChanged',
        actor: revision.author,
        message: revisionMessage(change),
        data: { revision: revision.number, source: revision.source, previous: change.previous?.number ?? null },
      })
      .catch((err: unknown) =>
        log(`revision ${revision.number} is stored, but its event was not: ${(err as Error).message}`),
      );
  });
}

/** `revision 12 from file: green v1 -> v3, paused false -> true`. */
export function revisionMessage(change: { revision: Revision; previous: Revision | null }): string {
  const { revision, previous } = change;
  const what = changedFields(previous?.doc ?? emptyDesired(), revision.doc)
    .map((c) => `${c.field} ${c.before} -> ${c.after}`)
    .join(', ');
  return `revision ${revision.number} from ${revision.source}: ${what}`;
}
