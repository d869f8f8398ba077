// Read-only views of the loop: desired + observed + status together (`?follow=1`: each change, as
// NDJSON or server-sent events), and what the next pass would do.
import { Router } from 'express';
import { allow, principalOf, stillAuthenticated } from '../auth/gate.js';
import type { ApiDeps } from '../deps.js';
import { followChanges, followSignal } from '../follow.js';
import { openSink, wantsSse } from '../follow-sink.js';
import { queryFlag } from '../query.js';
import type { StatusAnswer } from '../wire.js';

export function statusRoutes(deps: ApiDeps): Router {
  const router = Router();
  const read = async (): Promise<StatusAnswer> => {
    const revision = await deps.desired.current();
    return { daemon: deps.daemon, revision, status: deps.reconciler.status() };
  };
  router.get('/status', allow('viewer'), async (req, res) => {
    if (!queryFlag(req, 'follow') && !wantsSse(req)) {
      res.json(await read());
      return;
    }
    const signal = followSignal(res, principalOf(res), stillAuthenticated(res));
    await followChanges(res, read, signal, openSink(req, res, signal));
  });
  router.get('/plan', allow('viewer'), async (_req, res) => {
    res.json(await deps.reconciler.planNow());
  });
  return router;
}
