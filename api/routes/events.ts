// The event trail: recent events, events after an id, or (`?follow=1`) a stream of them: NDJSON, or
// server-sent events for the dashboard (an EventSource resumes after its Last-Event-ID).
import { Router } from 'express';
import { allow, principalOf, stillAuthenticated } from '../auth/gate.js';
import type { ApiDeps } from '../deps.js';
import { followEvents, followSignal } from '../follow.js';
import { lastEventId, openSink, wantsSse } from '../follow-sink.js';
import { queryFlag, queryInteger } from '../query.js';

export function eventRoutes(deps: ApiDeps): Router {
  const router = Router();
  router.get('/events', allow('viewer'), async (req, res) => {
    const after = lastEventId(req) ?? queryInteger(req, 'after', 0, 0, Number.MAX_SAFE_INTEGER);
    const limit = queryInteger(req, 'limit', 100, 1, 1000);
    const events =
      after > 0 ? await deps.store.listEventsAfter(after, limit) : await deps.store.listRecentEvents(limit);
    if (!queryFlag(req, 'follow') && !wantsSse(req)) {
      res.json({ events });
      return;
    }
    // The first batch as in the JSON answer, then everything after it as it is written.
    const signal = followSignal(res, principalOf(res), stillAuthenticated(res));
    const sink = openSink(req, res, signal);
    for (const event of events) await sink.item(event, event.id);
    const start = events.at(-1)?.id ?? after;
    await followEvents(res, (id) => deps.store.listEventsAfter(id, 500), start, signal, sink);
  });
  return router;
}
