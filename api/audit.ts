// Every state-changing call leaves an event naming who made it (the hyperuser, or `hyperctl` on
// the admin socket). Written after the change succeeded: a refused call changed nothing to audit.
import type { Response } from 'express';
import type { NewEvent } from '../common/types.js';
import type { Store } from '../store/store.js';
import { principalOf } from './auth/gate.js';

export async function audit(
  store: Pick<Store, 'appendEvent'>,
  res: Response,
  event: Omit<NewEvent, 'actor'>,
): Promise<void> {
  await store.appendEvent({ ...event, actor: principalOf(res).username });
}
