// Notification targets: a test message to one of them, so an operator can check a target (its URL,
// secret, SMTP login) before a real failure depends on it.
import { Router } from 'express';
import { allow, principalOf } from '../auth/gate.js';
import { readEmptyBody } from '../body.js';
import type { ApiDeps } from '../deps.js';
import { HttpError } from '../http-error.js';

export function notifyRoutes(deps: ApiDeps): Router {
  const router = Router();
  router.post('/notify/:name/test', allow('operator'), async (req, res) => {
    readEmptyBody(req);
    if (!deps.notify) throw new HttpError(503, 'unavailable', 'this daemon sends no notifications');
    // The outcome is the answer, delivered or not: the request itself did what it was asked.
    res.json(await deps.notify.test(String(req.params.name), principalOf(res).username));
  });
  return router;
}
