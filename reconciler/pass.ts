// One reconcile pass: read the desired revision and the world, plan, act, write the ledger and the
// status, announce the phases that changed. Level-triggered: it reads everything again each time
// and never asks what woke it. A pass that cannot complete (the store or an observation failed)
// writes its status too: PassFailed, with the revision it attempted.
import type { Color, DesiredDoc, GateResult, ReleaseRecord, Revision } from '../common/types.js';
import { emptyDesired } from '../desired-state/document.js';
import { act, type ActionOutcome, type ActorDeps } from './act.js';
import { DeploymentLedger, type PromotedListener } from './ledger.js';
import { Listeners } from './listeners.js';
import { Observer } from './observe.js';
import type { PassFinishedListener, PassOptions, PassResult, PlanPreview } from './pass-types.js';
import { PhaseEvents } from './phase-events.js';
import { plan } from './plan.js';
import type { Observed, PlanContext } from './types.js';
import { smokeGateResult } from './smoke.js';
import { specFor } from './unit-spec.js';

export type { PassFinishedListener, PassOptions, PassResult, PassStore, PlanPreview } from './pass-types.js';

/** The longest wait between two self-heal restarts of a color in a row. */
const MAX_HEAL_BACKOFF_MS = 5 * 60_000;

export class PassRunner {
  readonly #options: PassOptions;
  readonly #observer: Observer;
  readonly #ledger: DeploymentLedger;
  readonly #phases = new PhaseEvents();
  readonly #finished = new Listeners<[result: PassResult]>();
  readonly #promoted = new Listeners<Parameters<PromotedListener>>();
  readonly #ports: Record<Color, number>;
  readonly #context: PlanContext;

  constructor(options: PassOptions) {
    const { config, store, driver, router, builds, now } = options;
    this.#options = options;
    this.#ports = { blue: config.colors.blue.port, green: config.colors.green.port };
    this.#ledger = new DeploymentLedger(store, (entry, before) => this.#promoted.tell(entry, before));
    const { health } = config.app;
    this.#observer = new Observer({
      driver,
      router,
      health,
      getRelease: (tag) => store.getRelease(tag),
      jobs: () => builds.tags(),
      smokes: () => options.smokes?.tags() ?? new Set(),
      now,
      ...(options.onFailover ? { onFailover: options.onFailover } : {}),
    });
    this.#context = {
      specFor: (color, release) => specFor(config, color, release),
      failureThreshold: health.failureThreshold,
      startTimeoutMs: health.startTimeoutMs,
      healBackoffMs: (n) => Math.min(MAX_HEAL_BACKOFF_MS, 1000 * 2 ** n),
      canarySteps: options.canary ? options.canary.steps : null,
      smokeGate: options.smokes !== null,
    };
  }

  /** The health watch probes each running color on its own cadence from now on (Observer.startWatching). */
  startWatching(): void {
    this.#observer.startWatching();
  }

  /** Stops the health watch and waits for its probes in flight. */
  async close(): Promise<void> {
    await this.#observer.close();
  }

  /** Called after each completed pass, with its status; returns an unsubscribe. */
  onFinished(listener: PassFinishedListener): () => void {
    return this.#finished.add(listener);
  }

  /**
   * Called once public traffic reaches a tag it did not serve before, with the new ledger entry and
   * the one it replaced (the verification gate starts here); returns an unsubscribe.
   */
  onPromoted(listener: PromotedListener): () => void {
    return this.#promoted.add(listener);
  }

  /** One pass; never rejects: a failure is its result, and its status says so. */
  async run(): Promise<PassResult> {
    const started = this.#options.now();
    let revision: Revision | null = null;
    try {
      revision = await this.#options.store.latestRevision();
      const result = await this.#complete(revision, started);
      const failed = result.actions.some((o) => o.result === 'failed');
      this.#options.metrics?.pass(failed ? 'action_failed' : 'ok', (this.#options.now() - started) / 1000);
      this.#finished.tell(result);
      return result;
    } catch (err) {
      const error = (err as Error).message;
      this.#options.metrics?.pass('failed', (this.#options.now() - started) / 1000);
      this.#options.status.apply({ kind: 'failed', error, durationMs: this.#options.now() - started });
      await this.#options.event({ reason: 'PassFailed', message: `reconcile pass failed: ${error}` });
      return this.#result(revision, [], error);
    }
  }

  /**
   * Observes and plans like a pass, but acts on nothing and writes no status or event. It probes
   * afresh (the last pass's observation would show actions that pass already took) and peeks: its
   * probes are recorded nowhere, so reading the plan never counts a failure towards a self-heal
   * restart. Run it where no pass runs at the same time (Reconciler.exclusive).
   */
  async preview(): Promise<PlanPreview> {
    const revision = await this.#options.store.latestRevision();
    const desired = revision?.doc ?? emptyDesired();
    const observed = { ...(await this.#observer.peek(desired)), canary: this.#options.canary?.state() ?? null };
    return { revision: revision?.number ?? null, ...plan({ desired, observed, context: this.#context }) };
  }

  /** The answer when no pass ran (the loop is closed): the status as it stands. */
  noPass(): PassResult {
    return this.#result(null, [], null);
  }

  async #complete(revision: Revision | null, started: number): Promise<PassResult> {
    const { status, router, builds, now } = this.#options;
    status.apply({ kind: 'attempted', revision: revision?.number ?? null });
    const desired = revision?.doc ?? emptyDesired();
    const observed = { ...(await this.#observer.observe(desired)), canary: this.#options.canary?.state() ?? null };
    const planned = plan({ desired, observed, context: this.#context });
    const outcomes = await act(planned.actions, this.#actorDeps(revision, desired, observed));
    await this.#ledgerWrite(() => this.#ledger.flush());
    const after = status.apply({
      kind: 'passed',
      facts: {
        revision: revision?.number ?? null,
        desired,
        observed,
        plan: planned,
        outcomes,
        routed: { active: router.activeColor(), preview: router.previewColor(), serving: router.servingColor() },
        ports: this.#ports,
        builds: [...builds.tags()],
        durationMs: now() - started,
      },
    });
    for (const event of this.#phases.changes(after.colors)) await this.#options.event(event);
    return this.#result(revision, outcomes, planned.waiting);
  }

  #actorDeps(revision: Revision | null, desired: DesiredDoc, observed: Observed): ActorDeps {
    const { driver, router, builds, event } = this.#options;
    return {
      driver,
      router,
      build: (tag, reason) => void builds.build(tag, reason),
      smoke: (color, tag, reason) => {
        const version = observed.releases[tag]?.version ?? null;
        if (version !== null) this.#options.smokes?.enqueue({ tag, version, color, port: this.#ports[color] }, reason);
      },
      observer: this.#observer,
      ports: this.#ports,
      confirmReady: (color) => this.#observer.confirmReady(color),
      event,
      canary: this.#options.canary ?? null,
      // Traffic moves only to a color Ready at its desired tag, and a deploy installs that tag.
      served: (color) => {
        const tag = color === null ? null : desired.colors[color].tag;
        const release = tag === null ? undefined : observed.releases[tag];
        const serving =
          color === null || tag === null
            ? null
            : { color, tag, version: release?.version ?? null, gates: this.#gatesBefore(release) };
        return this.#ledgerWrite(() => this.#ledger.served(serving, revision));
      },
    };
  }

  /** The gates a release passed before its switch, for its ledger entry: the smoke run, when the gate is on. */
  #gatesBefore(release: ReleaseRecord | undefined): GateResult[] {
    return this.#options.smokes !== null && release?.smoke ? [smokeGateResult(release.smoke)] : [];
  }

  /** A ledger the store cannot write is said, and written by a later pass: it never fails an action. */
  async #ledgerWrite(write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (err) {
      const message = `the deployment ledger could not be written (a later pass retries): ${(err as Error).message}`;
      console.error(`hypervisor: ${message}`);
      await this.#options.event({ reason: 'LedgerWriteFailed', message });
    }
  }

  #result(revision: Revision | null, actions: ActionOutcome[], waiting: string | null): PassResult {
    return { revision: revision?.number ?? null, actions, waiting, status: this.#options.status.current() };
  }
}
