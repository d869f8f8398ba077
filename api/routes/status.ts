// Read-only views of the loop: desired + observed + status together, and what the next pass would do.
import { Router } from 'express';
import { allow } from '../auth/gate.js';
import type { ApiDeps } from '../deps.js';
import type { StatusAnswer } from '../wire.js';

export function statusRoutes(deps: ApiDeps): Router {
  const router = Router();
  router.get('/status', allow('viewer'), async (_req, res) => {
    const revision = await deps.desired.current();
    res.json({ daemon: deps.daemon, revision, status: deps.reconciler.status() } satisfies StatusAnswer);
  });
  router.get('/plan', allow('viewer'), async (_req, res) => {
    res.json(await deps.reconciler.planNow());
  });
  return router;
}
