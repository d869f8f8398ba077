// What the proxy measured: the Prometheus metrics (GET /metrics, text format) and the last hour of
// each color's traffic minute by minute (GET /traffic, JSON for the dashboard). Without the
// daemon's metrics both answer 503: there is nothing measured to show.
import { Router } from 'express';
import { allow } from '../auth/gate.js';
import type { ApiDeps } from '../deps.js';
import { HttpError } from '../http-error.js';
import type { TrafficAnswer } from '../wire.js';

export function trafficRoutes(deps: ApiDeps): Router {
  const router = Router();
  router.get('/metrics', allow('viewer'), async (_req, res) => {
    const metrics = measured(deps.metrics);
    const text = await metrics.text();
    res.set('Content-Type', metrics.contentType).set('Cache-Control', 'no-store').send(text);
  });
  router.get('/traffic', allow('viewer'), (_req, res) => {
    res.set('Cache-Control', 'no-store').json(measured(deps.traffic).history() satisfies TrafficAnswer);
  });
  return router;
}

function measured<T>(part: T | undefined): T {
  if (part === undefined) throw new HttpError(503, 'not_measured', 'this daemon does not measure its traffic');
  return part;
}
