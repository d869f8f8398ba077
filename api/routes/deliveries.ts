// GET /webhooks/github: the GitHub deliveries this hypervisor took (the signed, stored ones; a refused
// delivery leaves no record), oldest first within `since`, or (`?follow=1`) a stream of new ones.
// The outcome is read again from the stored payload and, for a tag, from its release record now.
import { Router, type Request } from 'express';
import { parseDuration } from '../../common/duration.js';
import type { GithubDelivery } from '../../common/types.js';
import type { DeliveryCursor } from '../../store/archive-records.js';
import { allow, principalOf, stillAuthenticated } from '../auth/gate.js';
import type { ApiDeps } from '../deps.js';
import { followAfter, followSignal } from '../follow.js';
import { openSink, wantsSse } from '../follow-sink.js';
import { HttpError } from '../http-error.js';
import { queryFlag, queryInteger } from '../query.js';
import type { DeliveryAnswer } from '../wire.js';
import { classifyConfigDelivery, classifyDelivery } from './webhooks.js';

const FAR_FUTURE = '9999-12-31T23:59:59.999Z';
const DEFAULT_SINCE = '24h';

export function deliveryRoutes(deps: ApiDeps): Router {
  const router = Router();
  router.get('/webhooks/github', allow('viewer'), async (req, res) => {
    const range = { from: new Date(Date.now() - sinceMs(req)).toISOString(), to: FAR_FUTURE };
    const limit = queryInteger(req, 'limit', 100, 1, 1000);
    const read = async (cursor: DeliveryCursor | null, n: number): Promise<DeliveryAnswer[]> =>
      Promise.all((await deps.store.archive.deliveries(range, cursor, n)).map((d) => describe(deps, d)));
    const first = await read(null, limit);
    if (!queryFlag(req, 'follow') && !wantsSse(req)) {
      res.json({ deliveries: first, since: range.from });
      return;
    }
    const signal = followSignal(res, principalOf(res), stillAuthenticated(res));
    const sink = openSink(req, res, signal);
    for (const [i, d] of first.entries()) await sink.item(d, i + 1);
    const last = first.at(-1);
    const start = last ? { receivedAt: last.receivedAt, deliveryId: last.deliveryId } : null;
    const trail = {
      list: (after: DeliveryCursor | null) => read(after, 500),
      cursorOf: (d: DeliveryAnswer): DeliveryCursor => ({ receivedAt: d.receivedAt, deliveryId: d.deliveryId }),
      idOf: (_d: DeliveryAnswer, sent: number) => first.length + sent,
    };
    await followAfter(res, trail, start, signal, sink);
  });
  return router;
}

function sinceMs(req: Request): number {
  const raw = req.query.since ?? DEFAULT_SINCE;
  const ms = parseDuration(raw);
  if (ms === null || ms <= 0)
    throw new HttpError(400, 'invalid_query', `since must be a duration like 30m, 24h or 168h, got ${String(raw)}`);
  return ms;
}

async function describe(deps: ApiDeps, d: GithubDelivery): Promise<DeliveryAnswer> {
  let payload: Record<string, unknown> = {};
  try {
    payload = JSON.parse(d.payload) as Record<string, unknown>;
  } catch {
    // Stored only after it parsed; a record that does not is shown without a ref.
  }
  const ref = typeof payload.ref === 'string' ? payload.ref : null;
  const base = { deliveryId: d.deliveryId, event: d.event, ref, receivedAt: d.receivedAt };
  return { ...base, outcome: await outcomeOf(deps, d.event, payload) };
}

async function outcomeOf(deps: ApiDeps, event: string, payload: Record<string, unknown>): Promise<string> {
  // The config repo's deliveries (desired.git) mean "pull"; the daemon without a config file knows none.
  const configRepo = deps.config?.current().desired.git?.repository?.toLowerCase();
  const named = (payload.repository as { full_name?: unknown } | undefined)?.full_name;
  const aboutConfig = configRepo !== undefined && typeof named === 'string' && named.toLowerCase() === configRepo;
  const intent = aboutConfig ? classifyConfigDelivery(event, payload) : classifyDelivery(event, payload);
  switch (intent.kind) {
    case 'ping':
      return 'pong';
    case 'config':
      return 'config repo pulled';
    case 'ignored':
      return `ignored: ${intent.reason}`;
    case 'tag': {
      const release = await deps.store.getRelease(intent.tag);
      return release ? `release ${intent.tag}: ${release.status}` : `tag ${intent.tag}: no release recorded`;
    }
    default: {
      const never: never = intent;
      throw new Error(`unknown delivery intent ${JSON.stringify(never)}`);
    }
  }
}
