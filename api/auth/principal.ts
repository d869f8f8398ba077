// Who is calling: a hyperuser with a session (public listener) or the admin socket's owner.
import type { Role } from '../../common/types.js';

export interface Principal {
  /** The hyperuser's name, or `hyperctl` on the admin socket; the actor of audit events. */
  username: string;
  roles: Role[];
  /** A Bearer token (hyper-cli), the dashboard's session cookie, or the admin socket. */
  via: 'token' | 'cookie' | 'admin-socket';
  sessionId: string | null;
  /** When the token and session end (ISO-8601); null on the admin socket. */
  expiresAt: string | null;
}

export const ROLES: readonly Role[] = ['viewer', 'operator', 'admin'];

/** Each role includes the ones before it: an operator may read, an admin may operate. */
const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

export function isRole(value: unknown): value is Role {
  return value === 'viewer' || value === 'operator' || value === 'admin';
}

export function mayAct(principal: Principal, needed: Role): boolean {
  return principal.roles.some((role) => RANK[role] >= RANK[needed]);
}

/** The admin socket's caller: its file mode (0600) already proved it is the daemon's owner. */
export const ADMIN_SOCKET_PRINCIPAL: Principal = Object.freeze({
  username: 'hyperctl',
  roles: ['admin'],
  via: 'admin-socket',
  sessionId: null,
  expiresAt: null,
}) as Principal;
