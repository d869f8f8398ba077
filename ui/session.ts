// Who is logged in, and what they may do: the same ranks as the API's roles.
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Role } from '../common/types.js';
import type { Session } from './api.js';

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export function mayAct(session: Session | null, needed: Role): boolean {
  return session !== null && session.roles.some((role) => RANK[role] >= RANK[needed]);
}

export const SessionContext = createContext<Session | null>(null);

/** True when the user may act as `needed`: viewers see everything and no action buttons. */
export const useMay = (needed: Role): boolean => mayAct(useContext(SessionContext), needed);
