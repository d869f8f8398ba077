// Login (no token), logout and "who am I" (with one).
import { Router } from 'express';
import { allow, principalOf } from '../auth/gate.js';
import { readBody, readEmptyBody, required } from '../body.js';
import type { ApiDeps } from '../deps.js';
import { HttpError } from '../http-error.js';
import type { MeAnswer } from '../wire.js';

export function loginRoutes(deps: ApiDeps): Router {
  const router = Router();
  router.post('/auth/login', async (req, res) => {
    const body = readBody(req, { username: 'string', password: 'string' });
    const address = req.socket.remoteAddress ?? 'admin-socket';
    const answer = await deps.auth.login(
      required(body.username, 'username'),
      required(body.password, 'password'),
      address,
    );
    res.set('Cache-Control', 'no-store').json(answer);
  });
  return router;
}

export function sessionRoutes(deps: ApiDeps): Router {
  const router = Router();
  router.post('/auth/logout', allow('viewer'), async (req, res) => {
    readEmptyBody(req);
    const principal = principalOf(res);
    if (principal.sessionId === null) throw new HttpError(400, 'no_session', 'the admin socket has no session to end');
    await deps.auth.logout(principal);
    res.status(204).end();
  });
  router.get('/auth/me', allow('viewer'), (_req, res) => {
    const { username, roles, via, expiresAt } = principalOf(res);
    res.json({ username, roles, via, expiresAt } satisfies MeAnswer);
  });
  return router;
}
