// Who may pass: `authenticate` names the caller (a Bearer token or the dashboard's session cookie on
// the public listener, the socket owner on the admin socket) and `allow(role)` guards each route.
// Routes read the caller with principalOf(res); a route that forgot its guard fails loudly instead
// of acting anonymously.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Role } from '../../common/types.js';
import { HttpError } from '../http-error.js';
import { clearSessionCookie, CSRF_HEADER, sessionCookie } from './cookie.js';
import { ADMIN_SOCKET_PRINCIPAL, mayAct, type Principal } from './principal.js';
import type { AuthService } from './service.js';

export type Channel = 'public' | 'admin';

const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)$/i;
const PRINCIPAL = Symbol('principal');
const RECHECK = Symbol('recheck');

type Locals = Record<string | symbol, unknown>;

export function authenticate(channel: Channel, auth: AuthService): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    const locals = res.locals as Locals;
    if (channel === 'admin') {
      locals[PRINCIPAL] = ADMIN_SOCKET_PRINCIPAL;
      locals[RECHECK] = async () => true;
    } else {
      const cookie = req.get('authorization') === undefined ? sessionCookie(req) : null;
      const via = cookie === null ? 'token' : 'cookie';
      const token = cookie ?? bearerToken(req);
      const principal = await auth.authenticate(token, via).catch((err: unknown) => {
        throw via === 'cookie' ? forgetCookie(err, req.secure) : err;
      });
      if (via === 'cookie') refuseWithoutCsrf(req, principal, auth);
      locals[PRINCIPAL] = principal;
      locals[RECHECK] = () =>
        auth.authenticate(token, via).then(
          () => true,
          () => false,
        );
    }
    next();
  };
}

/** Methods that change nothing; every other one, sent with the cookie, must carry the CSRF token. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function refuseWithoutCsrf(req: Request, principal: Principal, auth: AuthService): void {
  if (SAFE_METHODS.has(req.method)) return;
  if (auth.csrf.verify(principal.sessionId ?? '', req.get(CSRF_HEADER))) return;
  throw new HttpError(
    403,
    'csrf_failed',
    `a request with the session cookie that changes something needs the ${CSRF_HEADER} header of its session ` +
      '(from the login answer or GET /hypervisor/auth/me)',
  );
}

/** A cookie whose session has ended is of no use to the browser: the refusal tells it to forget it. */
function forgetCookie(err: unknown, secure: boolean): unknown {
  if (!(err instanceof HttpError) || err.status !== 401) return err;
  const headers = { ...err.headers, 'Set-Cookie': clearSessionCookie(secure) };
  return new HttpError(err.status, err.code, err.message, headers, err.details);
}

/**
 * Whether the caller's token still authenticates (session not revoked, user not removed or
 * changed): long-lived answers (follow streams) ask again now and then, not just at the start.
 */
export function stillAuthenticated(res: Response): () => Promise<boolean> {
  const recheck = (res.locals as Locals)[RECHECK] as (() => Promise<boolean>) | undefined;
  if (!recheck) throw new HttpError(500, 'internal', 'route reached without authentication');
  return recheck;
}

/** A route guard; it carries its role so the OpenAPI test can check the document against it. */
export type RoleGuard = RequestHandler & { readonly requiredRole: Role };

export function allow(role: Role): RoleGuard {
  const guard: RequestHandler = (_req: Request, res: Response, next: NextFunction) => {
    const principal = principalOf(res);
    if (!mayAct(principal, role)) {
      throw new HttpError(
        403,
        'forbidden',
        `${principal.username} (${principal.roles.join(', ')}) may not do this; it needs the ${role} role`,
      );
    }
    next();
  };
  return Object.assign(guard, { requiredRole: role });
}

export function principalOf(res: Response): Principal {
  const principal = (res.locals as Locals)[PRINCIPAL] as Principal | undefined;
  if (!principal) throw new HttpError(500, 'internal', 'route reached without authentication');
  return principal;
}

function bearerToken(req: Request): string {
  const header = req.get('authorization');
  const match = header === undefined ? null : BEARER.exec(header.trim());
  if (!match) {
    throw new HttpError(
      401,
      'unauthorized',
      header === undefined
        ? 'this route needs a token: POST /hypervisor/auth/login, then send Authorization: Bearer <token>'
        : 'the Authorization header must be "Bearer <token>"',
      { 'WWW-Authenticate': 'Bearer realm="hypervisor"' },
    );
  }
  return match[1]!;
}
