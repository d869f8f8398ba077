// Every accepted revision, whatever its source (api, file, git@<sha>, webhook, policy, ...), is one
// event naming its source and what changed: `revision 12 from file: green v26.11.27.1 -> v26.11.27.3`.
// The revisions service stores it with the revision in one transaction, so there is no revision
// without its event and no event for a revision that was refused.
import type { NewEvent, Revision } from '../common/types.js';
import { changedFields, emptyDesired } from './document.js';

export const REVISION_EVENT = 'DesiredChanged';

export function revisionEvent(revision: Revision, previous: Revision | null): NewEvent {
  return {
    reason: REVISION_EVENT,
    actor: revision.author,
    message: revisionMessage(revision, previous),
    data: { revision: revision.number, source: revision.source, previous: previous?.number ?? null },
  };
}

/** `revision 12 from file: green v1 -> v3, paused false -> true`. */
export function revisionMessage(revision: Revision, previous: Revision | null): string {
  const what = changedFields(previous?.doc ?? emptyDesired(), revision.doc)
    .map((c) => `${c.field} ${c.before} -> ${c.after}`)
    .join(', ');
  return `revision ${revision.number} from ${revision.source}: ${what}`;
}
