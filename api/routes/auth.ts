// Login (no token), logout and "who am I" (with one). The dashboard logs in with `cookie: true`:
// the same session as hyper-cli's, its token in an HttpOnly cookie instead of the answer.
import { Router, type Request, type Response } from 'express';
import { allow, principalOf } from '../auth/gate.js';
import { clearSessionCookie, setSessionCookie } from '../auth/cookie.js';
import { readBody, readEmptyBody, required } from '../body.js';
import type { ApiDeps } from '../deps.js';
import { HttpError } from '../http-error.js';
import type { CookieLoginAnswer, MeAnswer } from '../wire.js';

export function loginRoutes(deps: ApiDeps): Router {
  const router = Router();
  router.post('/auth/login', async (req, res) => {
    const body = readBody(req, { username: 'string', password: 'string', cookie: 'boolean' });
    const address = req.socket.remoteAddress ?? 'admin-socket';
    const { answer, sessionId } = await deps.auth.login(
      required(body.username, 'username'),
      required(body.password, 'password'),
      address,
    );
    res.set('Cache-Control', 'no-store');
    if (body.cookie !== true) {
      res.json(answer);
      return;
    }
    const { token, expiresAt, username, roles } = answer;
    res.set('Set-Cookie', setSessionCookie(token, expiresAt, req.secure));
    const csrfToken = deps.auth.csrf.tokenFor(sessionId);
    res.json({ tokenType: 'Cookie', expiresAt, username, roles, csrfToken } satisfies CookieLoginAnswer);
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
    forgetCookie(req, res);
    res.status(204).end();
  });
  router.get('/auth/me', allow('viewer'), (_req, res) => {
    const { username, roles, via, expiresAt, sessionId } = principalOf(res);
    const csrf = via === 'cookie' && sessionId !== null ? { csrfToken: deps.auth.csrf.tokenFor(sessionId) } : {};
    res.set('Cache-Control', 'no-store').json({ username, roles, via, expiresAt, ...csrf } satisfies MeAnswer);
  });
  return router;
}

function forgetCookie(req: Request, res: Response): void {
  if (principalOf(res).via === 'cookie') res.set('Set-Cookie', clearSessionCookie(req.secure));
}
