// Who may pass: `authenticate` names the caller (a Bearer token on the public listener, the socket
// owner on the admin socket) and `allow(role)` guards each route. Routes read the caller with
// principalOf(res); a route that forgot its guard fails loudly instead of acting anonymously.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Role } from '../../common/types.js';
import { HttpError } from '../http-error.js';
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
      const token = bearerToken(req);
      locals[PRINCIPAL] = await auth.authenticate(token);
      locals[RECHECK] = () =>
        auth.authenticate(token).then(
          () => true,
          () => false,
        );
    }
    next();
  };
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
