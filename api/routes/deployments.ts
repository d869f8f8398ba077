// The deployment ledger (GET /hypervisor/deployments): which color served which tag to public
// traffic, from when to when, made so by whom, and why it ended. Newest first, with the
// change-failure rate and the median time to restore over the entries listed.
import { Router } from 'express';
import { ledgerStats } from '../../reconciler/ledger-stats.js';
import { allow } from '../auth/gate.js';
import type { ApiDeps } from '../deps.js';
import { queryInteger } from '../query.js';

export function deploymentRoutes(deps: ApiDeps): Router {
  const router = Router();
  router.get('/deployments', allow('viewer'), async (req, res) => {
    const deployments = await deps.store.listDeployments(queryInteger(req, 'limit', 100, 1, 1000));
    res.json({ deployments, stats: ledgerStats(deployments) });
  });
  return router;
}
