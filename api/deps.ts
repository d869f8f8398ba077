// What the API needs from the rest of the daemon, handed in by the composition root.
import type { Router } from 'express';
import type { ArchivedLogs } from '../common/archive.js';
import type { ReconcilerStatus } from '../common/status.js';
import type { Color, ReleaseRecord } from '../common/types.js';
import type { RuntimeConfigPort } from '../config/overrides.js';
import type { DesiredStateService } from '../desired-state/revisions.js';
import type { TagLookup } from '../reconciler/tag-lookup.js';
import type { Store } from '../store/store.js';
import type { AuthService } from './auth/service.js';
import type { UserAdmin } from './auth/users.js';
import type { NotifyTestAnswer, PlanAnswer, ReconcileAnswer, TrafficAnswer } from './wire.js';

export interface ApiDeps {
  desired: DesiredStateService;
  /** The loop (reconciler/loop.ts), as far as the API shows it: its answers are the wire's. */
  reconciler: {
    status(): ReconcilerStatus;
    trigger(): Promise<ReconcileAnswer>;
    planNow(): Promise<PlanAnswer>;
    /** `switch --now`: the switch to `to` at `tag` skips the canary's steps. */
    skipCanary(to: Color, tag: string): Promise<void>;
  };
  store: Store;
  auth: AuthService;
  users: UserAdmin;
  /** Whether the smoke gate is on (config gates.smoke); off: POST /releases/:tag/smoke answers 409. */
  smokeGate?: boolean;
  /** `<root>/logs`: release logs are `<logsDir>/<tag>/build.log`, `test.log` and `smoke.log`. */
  logsDir: string;
  /** The log archive (archive/): a log whose local copy retention removed is read from it. */
  archivedLogs?: Pick<ArchivedLogs, 'open'>;
  /** Facts about the daemon for healthz and status. */
  daemon: { version: string; startedAt: string; driver: string; store: string };
  /** Null once every listener and the loop are up; until then why not (healthz answers 503 with it). */
  readiness: { notReady(): string | null };
  /**
   * Mounted at `/webhooks` without a token and before any body parser (signatures cover the raw
   * bytes); each webhook authenticates its own sender.
   */
  webhooks?: Router;
  /**
   * Rebuilds on demand and looks tags up in the backend repo (reconciler/release-intake.ts, tag-lookup.ts);
   * without it the rebuild route answers 503, and stage knows only the tags with a release record.
   */
  releases?: {
    /** `announce` runs once the request passed its checks, before anything changes. */
    rebuild(tag: string, actor: string, announce?: () => Promise<void>): Promise<ReleaseRecord>;
    lookupTag(tag: string): Promise<TagLookup>;
  };
  /**
   * Notification targets (notify/notifier.ts): `test` sends one test message to the named one
   * (NotFoundError for an unknown name); without it the route answers 503.
   */
  notify?: { test(name: string, actor: string): Promise<NotifyTestAnswer> };
  /**
   * The running config and its runtime changes (config get/set, config/overrides.ts); absent (in
   * tests of the API alone), the routes answer 503.
   */
  config?: RuntimeConfigPort;
  /** The built dashboard (dist/ui/), served at /ui/ on the public listener; absent on the admin socket. */
  dashboardDir?: string;
  /** The Prometheus metrics (reconciler/metrics.ts); without it GET /metrics answers 503. */
  metrics?: { readonly contentType: string; text(): Promise<string> };
  /** The proxy's per-color history of the last hour (proxy/meter.ts); without it GET /traffic answers 503. */
  traffic?: { history(): TrafficAnswer };
}
