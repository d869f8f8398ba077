// The loop: one pass at a time (p-queue, concurrency 1), triggers coalesced into the next pass,
// a requeue timer, builds in their own queue. A pass reads the desired revision and the world,
// plans, acts and writes status; it never branches on what triggered it.
import PQueue from 'p-queue';
import type { ReconcilerStatus } from '../common/status.js';
import {
  COLORS,
  type Color,
  type NewEvent,
  type ReleaseRecord,
  type Revision,
  type StoreHealth,
} from '../common/types.js';
import type { Config } from '../config/config.js';
import { emptyDesired } from '../desired-state/document.js';
import type { Store } from '../store/store.js';
import type { UnitDriver, UnitSpec } from '../units/driver.js';
import { act, type ActionOutcome } from './act.js';
import { EventLog } from '../store/event-log.js';
import { BuildJobs, type JobOutcome } from './jobs.js';
import { DeploymentLedger } from './ledger.js';
import { Observer } from './observe.js';
import { clearBuildLeftovers, recoverBuilds } from './pipeline/recovery.js';
import { plan } from './plan.js';
import type { BuildLeftovers, ReleaseBuilder, TrafficRouter } from './ports.js';
import { initialStatus, passStatus, setCondition } from './status.js';
import type { Observed, PlanContext, Plan } from './types.js';

export type ReconcilerStore = Pick<
  Store,
  | 'latestRevision'
  | 'getRelease'
  | 'createRelease'
  | 'updateRelease'
  | 'listReleases'
  | 'appendEvent'
  | 'listRevisions'
  | 'openDeployments'
  | 'startDeployment'
  | 'endDeployment'
>;

export interface ReconcilerOptions {
  config: Pick<Config, 'app' | 'colors' | 'root' | 'reconcile'>;
  store: ReconcilerStore;
  driver: UnitDriver;
  router: TrafficRouter;
  builder: ReleaseBuilder;
  /** Clears what builds of a crashed daemon left (scripts, git, temp folders) before the first pass. */
  buildLeftovers?: BuildLeftovers;
}

export type BuildFinishedListener = (tag: string, outcome: { status: string; error: string | null }) => void;
export type PassFinishedListener = (result: PassResult) => void;

export interface PassResult {
  revision: number | null;
  actions: ActionOutcome[];
  waiting: string | null;
  status: ReconcilerStatus;
}

/** What the next pass would do, from a fresh observation, without doing it (GET /hypervisor/plan). */
export interface PlanPreview extends Plan {
  revision: number | null;
}

const MAX_HEAL_BACKOFF_MS = 5 * 60_000;

export class Reconciler {
  readonly #options: ReconcilerOptions;
  readonly #passes = new PQueue({ concurrency: 1 });
  readonly #jobs: BuildJobs;
  readonly #observer: Observer;
  readonly #events: EventLog;
  readonly #ports: Record<Color, number>;
  readonly #ledger: DeploymentLedger;
  #queued: Promise<PassResult> | null = null;
  #timer: NodeJS.Timeout | null = null;
  #status: ReconcilerStatus = initialStatus();
  #lastPhases = new Map<Color, string>();
  #closed = false;
  readonly #buildListeners = new Set<BuildFinishedListener>();
  readonly #passListeners = new Set<PassFinishedListener>();

  constructor(options: ReconcilerOptions) {
    this.#options = options;
    this.#ports = { blue: options.config.colors.blue.port, green: options.config.colors.green.port };
    this.#ledger = new DeploymentLedger(options.store);
    this.#events = new EventLog(options.store, 'reconciler');
    this.#jobs = new BuildJobs(options.builder, {
      started: (tag) => void this.#event({ reason: 'BuildStarted', message: `building ${tag}`, data: { tag } }),
      finished: (tag, outcome) => void this.#buildFinished(tag, outcome),
    });
    this.#observer = new Observer({
      driver: options.driver,
      router: options.router,
      health: options.config.app.health,
      getRelease: (tag) => options.store.getRelease(tag),
      jobs: () => this.#jobs.tags(),
    });
  }

  /**
   * Takes over from an earlier daemon: ends what its builds left (scripts, git, temp folders), queues
   * the builds it left unfinished again (once), then runs.
   */
  async start(): Promise<void> {
    const leftovers = this.#options.buildLeftovers;
    if (leftovers) await clearBuildLeftovers(leftovers, (event) => this.#event(event));
    await recoverBuilds({
      store: this.#options.store,
      enqueue: (tag, reason) => void this.build(tag, reason),
      event: (event) => this.#event(event),
    });
    void this.trigger();
  }

  /**
   * Queues a build of `tag` whether or not a desired state names it (a webhook release, a rebuild);
   * false when one is queued or running already.
   */
  build(tag: string, reason: string): boolean {
    if (this.#closed || this.#jobs.has(tag)) return false;
    // The cause is written before the effect: an idle queue starts the job inside enqueue(), and
    // its BuildStarted must get a later id than this BuildQueued (the store numbers events in the
    // order appendEvent is called).
    void this.#event({ reason: 'BuildQueued', message: `build of ${tag} queued: ${reason}`, data: { tag } });
    return this.#jobs.enqueue(tag);
  }

  /** Tags whose build is queued or running. */
  builds(): ReadonlySet<string> {
    return this.#jobs.tags();
  }

  /** Called after each build ends and its result is recorded; returns an unsubscribe. */
  onBuildFinished(listener: BuildFinishedListener): () => void {
    this.#buildListeners.add(listener);
    return () => this.#buildListeners.delete(listener);
  }

  /** Called after each completed pass, with its status; returns an unsubscribe. */
  onPassFinished(listener: PassFinishedListener): () => void {
    this.#passListeners.add(listener);
    return () => this.#passListeners.delete(listener);
  }

  /** Wakes the loop. Triggers that arrive while a pass is waiting to run share that pass. */
  trigger(): Promise<PassResult> {
    if (this.#closed) return Promise.resolve(this.#result(null, [], null));
    if (this.#queued) return this.#queued;
    // p-queue may start the task inside add(): only a pass that has not started yet is shareable.
    const state = { started: false };
    const pass = this.#passes.add(
      () => {
        state.started = true;
        this.#queued = null;
        return this.#pass();
      },
      { throwOnTimeout: true },
    ) as Promise<PassResult>;
    if (!state.started) this.#queued = pass;
    return pass;
  }

  status(): ReconcilerStatus {
    return this.#status;
  }

  /**
   * Observes and plans like a pass, but acts on nothing and writes no status or event. It probes
   * afresh (the last pass's observation would show actions that pass already took) and peeks: its
   * probes are recorded nowhere, so reading the plan never counts a failure towards a self-heal
   * restart. It runs in the pass queue so it never observes while a pass acts.
   */
  planNow(): Promise<PlanPreview> {
    return this.#passes.add(
      async () => {
        const revision = await this.#options.store.latestRevision();
        const desired = revision?.doc ?? emptyDesired();
        const observed = await this.#observer.peek(desired);
        return { revision: revision?.number ?? null, ...plan({ desired, observed, context: this.#context() }) };
      },
      { throwOnTimeout: true },
    ) as Promise<PlanPreview>;
  }

  /** Reports a desired-state source's health (the file or git source) in the status conditions. */
  setSourceError(source: string, error: string | null): void {
    this.#status = {
      ...this.#status,
      conditions: setCondition(
        this.#status.conditions,
        error === null
          ? { type: 'DesiredSourceValid', status: 'True', reason: 'Valid', message: `${source}: valid` }
          : { type: 'DesiredSourceValid', status: 'False', reason: 'Invalid', message: `${source}: ${error}` },
        new Date().toISOString(),
      ),
    };
  }

  /** Reports the store's integrity in the status conditions: a damaged store is a problem with its fix. */
  setStoreHealth(health: StoreHealth): void {
    this.#status = {
      ...this.#status,
      conditions: setCondition(
        this.#status.conditions,
        health.state === 'ok'
          ? { type: 'StoreHealthy', status: 'True', reason: 'Ok', message: health.detail }
          : {
              type: 'StoreHealthy',
              status: 'False',
              reason: 'Damaged',
              message: `${health.detail}: writes are refused; fix: ${health.fix}`,
            },
        new Date().toISOString(),
      ),
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#jobs.close();
    await this.#passes.onIdle();
  }

  async #pass(): Promise<PassResult> {
    const started = Date.now();
    let revision: Revision | null = null;
    try {
      revision = await this.#options.store.latestRevision();
      this.#status = { ...this.#status, lastAttemptedRevision: revision?.number ?? null };
      const desired = revision?.doc ?? emptyDesired();
      const observed = await this.#observer.observe(desired);
      const result = plan({ desired, observed, context: this.#context() });
      const outcomes = await act(result.actions, this.#actorDeps(revision, desired, observed));
      await this.#ledgerWrite(() => this.#ledger.flush());
      this.#status = passStatus(this.#status, {
        revision: revision?.number ?? null,
        desired,
        observed,
        plan: result,
        outcomes,
        routed: { active: this.#options.router.activeColor(), preview: this.#options.router.previewColor() },
        ports: this.#ports,
        builds: [...this.#jobs.tags()],
        durationMs: Date.now() - started,
      });
      await this.#phaseEvents();
      const passed = this.#result(revision, outcomes, result.waiting);
      this.#notify(this.#passListeners, passed);
      return passed;
    } catch (err) {
      await this.#failed(err as Error, started);
      return this.#result(revision, [], (err as Error).message);
    } finally {
      this.#requeue();
    }
  }

  async #failed(err: Error, started: number): Promise<void> {
    const now = new Date().toISOString();
    this.#status = {
      ...this.#status,
      conditions: setCondition(
        this.#status.conditions,
        { type: 'Reconciling', status: 'False', reason: 'PassFailed', message: err.message },
        now,
      ),
      lastReconcileAt: now,
      lastPass: { durationMs: Date.now() - started, actions: [] },
    };
    await this.#event({ reason: 'PassFailed', message: `reconcile pass failed: ${err.message}` });
  }

  /** Every phase change is a decision worth an event; passes that change nothing stay quiet. */
  async #phaseEvents(): Promise<void> {
    for (const color of COLORS) {
      const report = this.#status.colors?.[color];
      if (!report) continue;
      const key = `${report.phase}: ${report.message}`;
      if (this.#lastPhases.get(color)?.startsWith(`${report.phase}:`)) continue;
      this.#lastPhases.set(color, key);
      await this.#event({
        reason: `Phase${report.phase}`,
        color,
        message: `${color} is ${report.phase}: ${report.message}`,
        data: { tag: report.desiredTag, runningTag: report.runningTag, phase: report.phase },
      });
    }
  }

  #requeue(): void {
    if (this.#closed) return;
    if (this.#timer) clearTimeout(this.#timer);
    const every = Math.min(this.#options.config.reconcile.intervalMs, this.#options.config.app.health.intervalMs);
    this.#timer = setTimeout(() => void this.trigger(), every);
    this.#timer.unref();
  }

  #context(): PlanContext {
    const { app, colors, root } = this.#options.config;
    return {
      specFor: (color: Color, release: ReleaseRecord): UnitSpec | null =>
        release.artifactPath === null || release.version === null
          ? null
          : {
              color,
              tag: release.tag,
              version: release.version,
              executable: release.artifactPath,
              port: colors[color].port,
              deployment: app.run.deployment,
              envRoot: app.run.envRoot,
              logFile: `${root}/logs/${color}.log`,
            },
      failureThreshold: app.health.failureThreshold,
      startTimeoutMs: app.health.startTimeoutMs,
      healBackoffMs: (n) => Math.min(MAX_HEAL_BACKOFF_MS, 1000 * 2 ** n),
    };
  }

  #actorDeps(revision: Revision | null, desired: Revision['doc'], observed: Observed): Parameters<typeof act>[1] {
    return {
      driver: this.#options.driver,
      router: this.#options.router,
      build: (tag, reason) => void this.build(tag, reason),
      observer: this.#observer,
      ports: this.#ports,
      confirmReady: (color) => this.#observer.confirmReady(color),
      event: (e) => this.#event(e),
      // Traffic moves only to a color Ready at its desired tag, and a deploy installs that tag.
      served: (color) => {
        const tag = color === null ? null : desired.colors[color].tag;
        const serving =
          color === null || tag === null ? null : { color, tag, version: observed.releases[tag]?.version ?? null };
        return this.#ledgerWrite(() => this.#ledger.served(serving, revision));
      },
    };
  }

  /** A ledger the store cannot write is said, and written by a later pass: it never fails an action. */
  async #ledgerWrite(write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (err) {
      const message = `the deployment ledger could not be written (a later pass retries): ${(err as Error).message}`;
      console.error(`hypervisor: ${message}`);
      await this.#event({ reason: 'LedgerWriteFailed', message });
    }
  }

  async #buildFinished(tag: string, outcome: JobOutcome): Promise<void> {
    try {
      await this.#recordCrashedBuild(tag, outcome).catch((err: unknown) =>
        console.error(`hypervisor: cannot record the result of the build of ${tag}: ${(err as Error).message}`),
      );
      await this.#event({
        reason:
          outcome.status === 'succeeded'
            ? 'BuildSucceeded'
            : outcome.status === 'interrupted'
              ? 'BuildInterrupted'
              : 'BuildFailed',
        message: `build of ${tag} ${outcome.status}${outcome.error ? `: ${outcome.error}` : ''}`,
        // The facts a notification quotes (notify/triggers.ts): never parsed back out of the message.
        data: { tag, status: outcome.status, step: outcome.step },
      });
    } finally {
      this.#notify(this.#buildListeners, tag, outcome);
      void this.trigger();
    }
  }

  /** Listeners are told, never waited on: a slow or failing one must not hold up the loop. */
  #notify<A extends unknown[]>(listeners: ReadonlySet<(...args: A) => void>, ...args: A): void {
    for (const listener of [...listeners]) {
      try {
        listener(...args);
      } catch (err) {
        console.error(`hypervisor: a reconciler listener failed: ${(err as Error).message}`);
      }
    }
  }

  /** A builder that threw may have left no terminal record: write one, or plan() would build forever. */
  async #recordCrashedBuild(tag: string, outcome: { status: string; error: string | null }): Promise<void> {
    const { store } = this.#options;
    const record = await store.getRelease(tag);
    // An interrupted record is a result too: the next start runs it again (pipeline/recovery.ts).
    if (record && (record.status === outcome.status || ['succeeded', 'failed', 'rejected'].includes(record.status)))
      return;
    const error = outcome.error ?? 'the build ended without a result';
    if (record) {
      await store.updateRelease(tag, { status: 'failed', error });
    } else {
      await store.createRelease({
        tag,
        sha: null,
        version: null,
        author: null,
        status: 'failed',
        error,
        build: null,
        test: null,
        artifactPath: null,
      });
    }
  }

  /** Best effort, never rejects (event-log.ts): a lost event never fails a pass, an action or a build. */
  #event(event: NewEvent): Promise<void> {
    return this.#events.record(event);
  }

  #result(revision: Revision | null, actions: ActionOutcome[], waiting: string | null): PassResult {
    return { revision: revision?.number ?? null, actions, waiting, status: this.#status };
  }
}
