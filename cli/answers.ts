// The shapes of the API's answers the CLIs print. Types only: the API owns them.
import type { Color, Role, Revision } from '../common/types.js';
import type { PassResult, PlanPreview } from '../reconciler/reconciler.js';
import type { ReconcilerStatus } from '../reconciler/status.js';

export interface StatusAnswer {
  daemon: { version: string; startedAt: string; driver: string; store: string };
  revision: Revision | null;
  status: ReconcilerStatus;
}

export interface ChangeAnswer {
  revision: Revision;
  changed: boolean;
  waiting: string | null;
  active?: string | null;
  /** stage: the color the tag went onto. */
  color?: Color;
  /** rollback: where traffic goes back to, and what served until now. */
  rollback?: { to: Color; tag: string; from: Color; fromTag: string };
}

export type ReconcileAnswer = PassResult;

export type { LoginAnswer } from '../api/auth/service.js';

export interface MeAnswer {
  username: string;
  roles: Role[];
  via: 'token' | 'admin-socket';
  expiresAt: string | null;
}

export interface UserAnswer {
  username: string;
  roles: Role[];
  createdAt: string;
  updatedAt: string;
}

export type PlanAnswer = PlanPreview;
