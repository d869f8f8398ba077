// Every state-changing call leaves an event naming who made it (the hyperuser, or `hyperctl` on
// the admin socket). A change that is stored carries its event in the same transaction, so a call
// answers 2xx with both stored or fails with neither; a refused call changed nothing to audit.
import type { Response } from 'express';
import type { NewEvent, Revision } from '../common/types.js';
import type { ApplyResult } from '../desired-state/revisions.js';
import type { Store } from '../store/store.js';
import { principalOf } from './auth/gate.js';

export type AuditEvent = Omit<NewEvent, 'actor'>;

export async function audit(store: Pick<Store, 'appendEvent'>, res: Response, event: AuditEvent): Promise<void> {
  await store.appendEvent({ ...event, actor: principalOf(res).username });
}

/** The caller's audit line as a builder for a store write that takes its events along. */
export function auditing<T>(res: Response, describe: (written: T) => AuditEvent): (written: T) => readonly NewEvent[] {
  const actor = principalOf(res).username;
  return (written) => [{ ...describe(written), actor }];
}

/**
 * A desired-state write and its audit line: stored with the new revision when there is one, alone
 * when nothing changed (the call is still worth recording, and that event is then its only write).
 */
export async function auditedDesiredWrite(
  store: Pick<Store, 'appendEvent'>,
  res: Response,
  write: (events: (revision: Revision) => readonly NewEvent[]) => Promise<ApplyResult>,
  describe: (revision: Revision, changed: boolean) => AuditEvent,
): Promise<ApplyResult> {
  const result = await write(auditing(res, (revision: Revision) => describe(revision, true)));
  if (!result.changed) await audit(store, res, describe(result.revision, false));
  return result;
}
