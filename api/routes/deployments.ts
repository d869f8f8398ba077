// The deployment ledger (GET /hypervisor/deployments): which color served which tag to public
// traffic, from when to when, made so by whom, and why it ended. Newest first.
import { Router } from 'express';
import { allow } from '../auth/gate.js';
import type { ApiDeps } from '../deps.js';
import { queryInteger } from '../query.js';

export function deploymentRoutes(deps: ApiDeps): Router {
  const router = Router();
  router.get('/deployments', allow('viewer'), async (req, res) => {
    res.json({ deployments: await deps.store.listDeployments(queryInteger(req, 'limit', 100, 1, 1000)) });
  });
  return router;
}
