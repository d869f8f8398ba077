// The HTTP API under /hypervisor/: one express app per channel. On the public listeners every
// route but healthz, login and the webhooks needs a Bearer token; on the admin socket the file
// mode (0600) is the authentication and the caller acts as `hyperctl` with every role.
import express, { type Express } from 'express';
import { allow, authenticate, type Channel } from './auth/gate.js';
import type { ApiDeps } from './deps.js';
import { refuseDeepJson } from './body.js';
import { errorHandler, HttpError, notFound } from './http-error.js';
import { openApiDocument } from './openapi.js';
import { actionRoutes } from './routes/actions.js';
import { loginRoutes, sessionRoutes } from './routes/auth.js';
import { configRoutes } from './routes/config.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { deliveryRoutes } from './routes/deliveries.js';
import { deploymentRoutes } from './routes/deployments.js';
import { desiredRoutes } from './routes/desired.js';
import { releaseActionRoutes } from './routes/release-actions.js';
import { eventRoutes } from './routes/events.js';
import { notifyRoutes } from './routes/notify.js';
import { releaseRoutes } from './routes/releases.js';
import { statusRoutes } from './routes/status.js';
import { trafficRoutes } from './routes/traffic.js';
import { userRoutes } from './routes/users.js';

export const API_PREFIX = '/hypervisor';

export function createApi(deps: ApiDeps, channel: Channel): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // Express 5's default, said out loud: node's querystring, at most 1000 keys, every value a string
  // or a list of strings. `a[b][c]=1` is a key with brackets in it, never a nested object.
  app.set('query parser', 'simple');
  app.use(API_PREFIX, apiRouter(deps, channel));
  app.use((req) => notFound(req));
  app.use(errorHandler);
  return app;
}

/** The order is the policy: what is mounted before `authenticate` needs no token. */
export function apiRouter(deps: ApiDeps, channel: Channel): express.Router {
  const api = express.Router();
  api.get('/healthz', (_req, res) => {
    // Ready means every part is up: whoever waits for 200 may use the admin socket and the proxy at once.
    const notReady = deps.readiness.notReady();
    if (notReady !== null) throw new HttpError(503, 'not_ready', notReady);
    res.json({ ok: true, version: deps.daemon.version, startedAt: deps.daemon.startedAt });
  });
  if (deps.webhooks) api.use('/webhooks', deps.webhooks);
  if (channel === 'public' && deps.dashboardDir) api.use(dashboardRoutes(deps.dashboardDir));
  api.use(express.json({ limit: '64kb', strict: true, verify: refuseDeepJson }));
  api.use(loginRoutes(deps));
  api.use(authenticate(channel, deps.auth));
  api.get('/openapi.json', allow('viewer'), (_req, res) => {
    res.json(openApiDocument(deps.daemon.version));
  });
  for (const routes of [
    sessionRoutes,
    statusRoutes,
    desiredRoutes,
    actionRoutes,
    releaseRoutes,
    releaseActionRoutes,
    eventRoutes,
    deploymentRoutes,
    trafficRoutes,
    userRoutes,
    notifyRoutes,
    deliveryRoutes,
    configRoutes,
  ]) {
    api.use(routes(deps));
  }
  api.use((req) => notFound(req));
  return api;
}
