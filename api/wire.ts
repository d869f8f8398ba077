// The API's answers as they go over the wire: the routes build them, the CLIs (and the tests) read
// them. Types and header names only, so cli/ can depend on this file and on nothing else of api/ (see
// .dependency-cruiser.cjs). The reconciler's status has its shape in common/status.ts.
import type { ReconcilerStatus } from '../common/status.js';
import type { Color, Deployment, DesiredDoc, Phase, Role, Revision } from '../common/types.js';

/** GET /status */
export interface StatusAnswer {
  daemon: { version: string; startedAt: string; driver: string; store: string };
  revision: Revision | null;
  status: ReconcilerStatus;
}

/** POST /switch: `to` defaults to the other color; `now` skips the canary steps (gates.canary). */
export interface SwitchRequest {
  to?: Color;
  now?: boolean;
}

/** GET /deployments: the ledger, newest first, and two DORA measures over the entries listed. */
export interface DeploymentsAnswer {
  deployments: Deployment[];
  stats: {
    deployments: number;
    /** Rolled back, or judged failed by a gate. */
    failed: number;
    /** failed / deployments; null with none. */
    changeFailureRate: number | null;
    /** How long a failed deployment served before traffic left it (the median); null while none ended. */
    medianTimeToRestoreMs: number | null;
  };
}

/** stage, switch, rollback, pause, resume and PUT /desired: the revision written (or kept). */
export interface ChangeAnswer {
  revision: Revision;
  changed: boolean;
  waiting: string | null;
  active?: string | null;
  /** stage: the color the tag went onto. */
  color?: Color;
  /** switch (hyper-cli): per cent of the public clients each color gets right after it. */
  weights?: Record<Color, number> | null;
  /** rollback: where traffic goes back to, and what served until now. */
  rollback?: { to: Color; tag: string; from: Color; fromTag: string };
}

/** One action of a plan: its kind and why. Each kind adds what it acts on (a color, a tag, a unit spec). */
export interface ActionAnswer {
  kind: string;
  reason: string;
}

/** What became of one action of a pass: done, failed (why), or not run because an earlier one failed (why). */
export type OutcomeAnswer =
  | { action: ActionAnswer; result: 'done' }
  | { action: ActionAnswer; result: 'failed'; error: string }
  | { action: ActionAnswer; result: 'skipped'; why: string };

/** POST /reconcile: what the pass did, and the status it left. */
export interface ReconcileAnswer {
  revision: number | null;
  actions: OutcomeAnswer[];
  waiting: string | null;
  status: ReconcilerStatus;
}

/** GET /plan: what the next pass would do, from a fresh observation, without doing it. */
export interface PlanAnswer {
  revision: number | null;
  actions: ActionAnswer[];
  colors: Record<Color, { phase: Phase; message: string }>;
  /** Why traffic is (not) where the desired state wants it; null when it is. */
  waiting: string | null;
}

/** POST /desired/diff: what applying a document would change; nothing is written. */
export interface DiffAnswer {
  /** The revision compared against; null before the first one. */
  revision: number | null;
  differs: boolean;
  /** One line per difference, e.g. `green: v1 -> v2`. */
  changes: string[];
  proposed: DesiredDoc;
}

/** POST /auth/login */
export interface LoginAnswer {
  token: string;
  tokenType: 'Bearer';
  expiresAt: string;
  username: string;
  roles: Role[];
}

/** POST /auth/login with `cookie: true` (the dashboard): the token went into an HttpOnly cookie. */
export interface CookieLoginAnswer {
  tokenType: 'Cookie';
  expiresAt: string;
  username: string;
  roles: Role[];
  /** Sent back in X-CSRF-Token on every request that changes something. */
  csrfToken: string;
}

/** GET /auth/me */
export interface MeAnswer {
  username: string;
  roles: Role[];
  via: 'token' | 'cookie' | 'admin-socket';
  expiresAt: string | null;
  /** With the session cookie: the session's CSRF token (the dashboard after a reload). */
  csrfToken?: string;
}

/** A hyperuser as /users shows one: never its password hash. */
export interface UserAnswer {
  username: string;
  roles: Role[];
  createdAt: string;
  updatedAt: string;
}

/** POST /notify/:name/test: how the one try went. */
export interface NotifyTestAnswer {
  target: string;
  kind: 'slack' | 'webhook' | 'email';
  outcome: 'delivered' | 'failed';
  /** Why it failed (an HTTP status and the start of the answer, an SMTP reply, a timeout). */
  error: string | null;
  durationMs: number;
}

/**
 * GET /releases/:tag/logs/:kind: where the log came from -- `local` (the host's file) or `archive`
 * (the copy in object storage, once retention removed the local one) -- and, from the archive, the
 * object (`s3://bucket/key`) and the SHA-256 recorded when it was uploaded.
 */
export const LOG_HEADERS = {
  source: 'X-Hypervisor-Log-Source',
  location: 'X-Hypervisor-Log-Location',
  sha256: 'X-Hypervisor-Log-Sha256',
} as const;

/** One minute of one color's traffic, as the proxy measured it (GET /traffic). */
export interface TrafficMinute {
  /** ISO-8601 start of the minute. */
  start: string;
  /** Requests sent to the color (answered, or failed before an answer). */
  requests: number;
  /** 5xx answers and connection failures. */
  errors: number;
  /** The 99th percentile latency of the minute's answers, in seconds; null without answers. */
  p99Seconds: number | null;
}

/** GET /traffic: per color, the last hour minute by minute, oldest first, the current (partial) minute last. */
export interface TrafficAnswer {
  minutes: number;
  colors: Record<Color, TrafficMinute[]>;
}

/** GET /config: the running config, secret values redacted, and the keys changed at runtime. */
export interface ConfigAnswer {
  config: unknown;
  /** Where runtime changes are kept (laid over the config file at every start). */
  overridesFile: string | null;
  overrides: Array<{ key: string; by: string; at: string }>;
}

/** PUT /config/:key: the change is saved and applied. */
export interface ConfigSetAnswer {
  key: string;
  changed: true;
  /** `now`: policy and notify; `next start`: gates (the gate runners are built at start in this version). */
  appliesAt: 'now' | 'next start';
  config: unknown;
}

/** GET /webhooks/github: one GitHub delivery as received, and what the hypervisor made of it. */
export interface DeliveryAnswer {
  deliveryId: string;
  event: string;
  /** The payload's ref (`refs/tags/v26.11.27.1`, `refs/heads/main`, a created tag's name), or null. */
  ref: string | null;
  /** In words: `release v26.11.27.1: succeeded`, `pong`, `ignored: ...`, `config repo pulled`. */
  outcome: string;
  receivedAt: string;
}
