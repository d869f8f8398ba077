// The reconcile loop, assembled: the scheduler (reconciler.ts) runs passes (pass.ts) one at a time,
// builds run in their own queue (builds.ts), and both report into one status (status-board.ts).
// The daemon builds one Loop and hands it to the API, the desired-state sources and the policy;
// each method here belongs to one of those parts and only passes the call on.
import type { ReconcilerStatus } from '../common/status.js';
import type { Color, NewEvent, StoreHealth } from '../common/types.js';
import { EventLog } from '../store/event-log.js';
import type { LoopOptions } from './loop-options.js';
import { Builds, type BuildFinishedListener } from './builds.js';
import type { NewCondition } from './conditions.js';
import type { CanaryController } from './canary.js';
import { canaryReport, currentWeights, makeCanary } from './canary-setup.js';
import type { PromotedListener } from './ledger.js';
import { PassRunner, type PassFinishedListener, type PassResult, type PlanPreview } from './pass.js';
import { clearBuildLeftovers, recoverBuilds } from './pipeline/recovery.js';
import { Reconciler } from './reconciler.js';
import type { SmokeTester } from './smoke.js';
import { SmokeJobs, smokeOnLedger } from './smoke-jobs.js';
import { StatusBoard } from './status-board.js';

export type { LoopOptions, LoopStore } from './loop-options.js';

export class Loop {
  readonly #options: LoopOptions;
  readonly #events: EventLog;
  readonly #status: StatusBoard;
  readonly #builds: Builds;
  readonly #smokes: SmokeJobs | null;
  readonly #passes: PassRunner;
  readonly #reconciler: Reconciler<PassResult>;
  readonly #canary: CanaryController | null;

  constructor(options: LoopOptions) {
    const { config, store, driver, router, builder } = options;
    const now = options.now ?? Date.now;
    this.#options = options;
    this.#events = new EventLog(store, 'reconciler');
    const event = (e: NewEvent): Promise<void> => this.#events.record(e);
    this.#status = new StatusBoard(now);
    this.#builds = new Builds({ builder, store, event, wake: () => void this.trigger() });
    this.#canary = makeCanary(config.gates?.canary ?? null, options.canary, {
      router,
      ports: { blue: config.colors.blue.port, green: config.colors.green.port },
      event,
      wake: () => void this.trigger(),
      paused: () => this.#status.current().paused,
    });
    this.#smokes = options.smoke ? this.#smokeJobs(options.smoke, event) : null;
    this.#passes = new PassRunner({
      config,
      store,
      driver,
      router,
      builds: this.#builds,
      smokes: this.#smokes,
      status: this.#status,
      event,
      // The data plane moved traffic by itself: say so, and let a pass write the status that says it.
      onFailover: (e) => {
        void event(e);
        void this.trigger();
      },
      now,
      canary: this.#canary,
      metrics: options.metrics,
    });
    this.#reconciler = new Reconciler({
      pass: () => this.#passes.run(),
      // A unit's health is looked at again within one probe interval, whatever the reconcile interval.
      requeueMs: Math.min(config.reconcile.intervalMs, config.app.health.intervalMs),
      closed: () => this.#passes.noPass(),
      ...(options.timer ? { timer: options.timer } : {}),
    });
  }

  /**
   * Takes over from an earlier daemon: ends what its builds left (scripts, git, temp folders), queues
   * the builds it left unfinished again (once), then runs.
   */
  async start(): Promise<void> {
    const event = (e: NewEvent): Promise<void> => this.#events.record(e);
    // A rollout an earlier daemon left: the first pass resumes it when it still fits (plan-canary.ts).
    if (this.#canary) this.#canary.restore(await this.#options.canary!.file.load());
    const leftovers = this.#options.buildLeftovers;
    if (leftovers) await clearBuildLeftovers(leftovers, event);
    await recoverBuilds({
      store: this.#options.store,
      enqueue: (tag, reason) => void this.build(tag, reason),
      event,
      fullDisk: leftovers && (() => leftovers.fullDisk()),
    });
    this.#passes.startWatching();
    void this.trigger();
  }

  /** Wakes the loop (Reconciler.trigger): triggers that arrive while a pass waits to run share it. */
  trigger(): Promise<PassResult> {
    return this.#reconciler.trigger().then((result) => ({ ...result, status: this.status() }));
  }

  /** What the next pass would do, planned between passes (PassRunner.preview). */
  planNow(): Promise<PlanPreview> {
    return this.#reconciler.exclusive(() => this.#passes.preview());
  }

  /** The last pass's status, with the weights and the canary as they are now (a step moves between passes). */
  status(): ReconcilerStatus {
    return {
      ...this.#status.current(),
      weights: currentWeights(this.#options.router),
      canary: this.#canary ? canaryReport(this.#canary.state(), this.#canary.steps) : null,
    };
  }

  /** `switch --now`: the switch to `to` at `tag` skips the canary's steps (or what is left of them). */
  async skipCanary(to: Color, tag: string): Promise<void> {
    await this.#canary?.skip(to, tag, this.#options.router.activeColor());
  }

  /** Reports a desired-state source's health (the file or git source) in the status conditions. */
  setSourceError(source: string, error: string | null): void {
    this.#status.apply({ kind: 'source', source, error });
  }

  /** Reports the store's integrity in the status conditions. */
  setStoreHealth(health: StoreHealth): void {
    this.#status.apply({ kind: 'store', health });
  }

  /** Reports a condition another part of the daemon owns (the archive's `Archived`, the disk watch's `DiskSpace`). */
  reportCondition(condition: NewCondition): void {
    this.#status.apply({ kind: 'condition', condition });
  }

  /** Queues a build of `tag` (Builds.build); false when one is queued or running already. */
  build(tag: string, reason: string): boolean {
    return this.#builds.build(tag, reason);
  }

  /** Tags whose build is queued or running. */
  builds(): ReadonlySet<string> {
    return this.#builds.tags();
  }

  /** Called after each build ends and its result is recorded; returns an unsubscribe. */
  onBuildFinished(listener: BuildFinishedListener): () => void {
    return this.#builds.onFinished(listener);
  }

  /** Called after each completed pass, with its status; returns an unsubscribe. */
  onPassFinished(listener: PassFinishedListener): () => void {
    return this.#passes.onFinished(listener);
  }

  /** Called once public traffic reaches a tag it did not serve before (PassRunner.onPromoted). */
  onPromoted(listener: PromotedListener): () => void {
    return this.#passes.onPromoted(listener);
  }

  /** No new pass, requeue or build; cancels the builds and waits for them and the pass under way. */
  async close(): Promise<void> {
    // The rollout stays in its file (a restart resumes it); only its timer must not outlive the loop.
    this.#canary?.stop();
    const passes = this.#reconciler.close();
    await Promise.all([this.#builds.close(), this.#smokes?.close()]);
    await passes;
    await this.#passes.close();
  }

  /** Smoke runs in their own queue; a result also goes onto the ledger entry of what serves already. */
  #smokeJobs(tester: SmokeTester, event: (e: NewEvent) => Promise<void>): SmokeJobs {
    return new SmokeJobs(tester, {
      event,
      recorded: (request, result) =>
        smokeOnLedger(this.#options.store, request, result).catch((err: unknown) =>
          event({
            reason: 'LedgerWriteFailed',
            message: `the smoke result of ${request.tag} is not on its ledger entry: ${(err as Error).message}`,
          }),
        ),
      finished: () => void this.trigger(),
    });
  }
}
