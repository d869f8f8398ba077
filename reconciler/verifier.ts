// The verification gate after a switch (gates.verify): for `window` after public traffic reaches a
// new tag, the proxy's own measurements of that color are judged (judge.ts) every second. A
// failure sends traffic back at once to the color that served before, when it is still Ready at the
// tag it served (desired-state/rollback.ts): the ledger entry ends `rolled_back` with the verdict
// and a RolledBack event, then a desired revision by source `verify` makes desired match, and the
// loop is woken to route. A pass is a Verified event. A rollback made by this gate is not verified
// again, so a host whose both releases fail does not swing back and forth.
import type { TrafficReadings, TrafficTotals } from '../common/traffic.js';
import { windowBetween } from '../common/traffic.js';
import type { Deployment, DesiredDoc, GateResult, NewEvent, Revision } from '../common/types.js';
import { emptyDesired } from '../desired-state/document.js';
import { TransitionRefusedError } from '../desired-state/refusals.js';
import type { ApplyResult, ChangeMeta } from '../desired-state/revisions.js';
import { rollback, type RolledBack } from '../desired-state/rollback.js';
import type { ColorsFacts } from '../desired-state/transitions.js';
import type { Store } from '../store/store.js';
import { judge, measuredNumbers, type Judgement, type VerifyThresholds } from './judge.js';
import type { LoopMetrics } from './metrics.js';

/** The revision source (and author) of a rollback this gate makes. */
export const VERIFY_SOURCE = 'verify';

export interface VerifierOptions {
  thresholds: VerifyThresholds;
  meter: Pick<TrafficReadings, 'totals'>;
  store: Pick<Store, 'recordGate' | 'listDeployments'>;
  desired: {
    current(): Promise<Revision | null>;
    update(mutator: (doc: DesiredDoc) => DesiredDoc, meta: ChangeMeta): Promise<ApplyResult>;
  };
  /** The colors as the last pass saw them. */
  colors(): ColorsFacts;
  /** Wakes the loop, so the rollback's route runs now. */
  wake(): void;
  /** Best effort: never rejects. */
  event(event: NewEvent): Promise<void>;
  metrics?: Pick<LoopMetrics, 'deploy' | 'gate'>;
  /** How often the window is judged. @default 1000 */
  everyMs?: number;
}

interface Watch {
  entry: Deployment;
  from: TrafficTotals;
  timer: NodeJS.Timeout;
  held: boolean;
  deciding: boolean;
}

/** How much of the ledger a rollback reads to find what served before. */
const LEDGER = 50;

export class Verifier {
  readonly #o: VerifierOptions;
  #watch: Watch | null = null;

  constructor(options: VerifierOptions) {
    this.#o = options;
  }

  /** Public traffic reached `entry`'s tag (Loop.onPromoted): watch it, instead of whatever was watched. */
  start(entry: Deployment): void {
    this.#stop();
    if (entry.source === VERIFY_SOURCE) return;
    const from = this.#o.meter.totals(entry.color);
    const timer = setInterval(() => void this.#check(), this.#o.everyMs ?? 1000);
    timer.unref();
    this.#watch = { entry, from, timer, held: false, deciding: false };
  }

  close(): void {
    this.#stop();
  }

  #stop(): void {
    if (this.#watch) clearInterval(this.#watch.timer);
    this.#watch = null;
  }

  async #check(): Promise<void> {
    const watch = this.#watch;
    if (watch === null || watch.deciding) return;
    const now = this.#o.meter.totals(watch.entry.color);
    const over = now.atMs - watch.from.atMs >= this.#o.thresholds.windowMs;
    const j = judge(windowBetween(watch.from, now), this.#o.thresholds, over);
    if (j.verdict === 'pending') return;
    if (j.verdict === 'too_few' && this.#o.thresholds.onTooFew === 'hold') return this.#hold(watch, j);
    watch.deciding = true;
    try {
      if (j.verdict === 'failed') await this.#fail(watch.entry, j);
      else await this.#pass(watch.entry, j);
    } finally {
      if (this.#watch === watch) this.#stop();
    }
  }

  /** Too few requests, onTooFew: hold: said once; the window goes on until there are enough. */
  async #hold(watch: Watch, j: Judgement): Promise<void> {
    if (watch.held) return;
    watch.held = true;
    this.#o.metrics?.gate('verify', 'held');
    const { entry } = watch;
    await this.#o.event({
      reason: 'VerificationHeld',
      color: entry.color,
      actor: VERIFY_SOURCE,
      message: `${entry.tag} on ${entry.color}: ${j.reason}; verification goes on until there are enough`,
      data: { tag: entry.tag, deployment: entry.id, verdict: j.reason, measured: measuredNumbers(j.measured) },
    });
  }

  async #pass(entry: Deployment, j: Judgement): Promise<void> {
    const verdict = j.verdict === 'too_few' ? `${j.reason}; passed (gates.verify.onTooFew: pass)` : j.reason;
    const gate = gateResult('passed', verdict, j);
    await this.#o.store.recordGate(entry.id, { gate, verdict }, () => [
      {
        reason: 'Verified',
        color: entry.color,
        actor: VERIFY_SOURCE,
        message: `${entry.tag} on ${entry.color} passed verification: ${verdict}`,
        data: { tag: entry.tag, deployment: entry.id, verdict, measured: gate.measured },
      },
    ]);
    this.#o.metrics?.gate('verify', 'passed');
    this.#o.metrics?.deploy('verified');
  }

  async #fail(entry: Deployment, j: Judgement): Promise<void> {
    this.#o.metrics?.gate('verify', 'failed');
    const ledger = await this.#o.store.listDeployments(LEDGER);
    let back: RolledBack;
    try {
      const doc = (await this.#o.desired.current())?.doc ?? emptyDesired();
      back = rollback(doc, this.#facts(ledger));
    } catch (err) {
      if (!(err instanceof TransitionRefusedError)) throw err;
      return this.#stuck(entry, j, err.message);
    }
    const { to, tag } = back;
    const gate = gateResult('failed', j.reason, j);
    await this.#o.store.recordGate(entry.id, { gate, verdict: j.reason, end: 'rolled_back' }, () => [
      {
        reason: 'RolledBack',
        color: entry.color,
        actor: VERIFY_SOURCE,
        message: `${entry.tag} on ${entry.color} failed verification: ${j.reason}; traffic goes back to ${to} (${tag})`,
        data: { tag: entry.tag, deployment: entry.id, verdict: j.reason, measured: gate.measured, to, toTag: tag },
      },
    ]);
    this.#o.metrics?.deploy('rolled_back');
    try {
      // The ledger read before the end: `rollback` finds what served before the failed entry.
      const facts = this.#facts(ledger);
      await this.#o.desired.update((doc) => rollback(doc, facts).doc, {
        source: VERIFY_SOURCE,
        author: VERIFY_SOURCE,
      });
    } catch (err) {
      await this.#o.event({
        reason: 'RollbackFailed',
        color: entry.color,
        actor: VERIFY_SOURCE,
        message: `${entry.tag} failed verification, but the desired state could not go back: ${(err as Error).message}`,
        data: { tag: entry.tag, deployment: entry.id },
      });
    }
    this.#o.wake();
  }

  /** Failed, and nothing to go back to: the verdict is recorded, traffic stays. */
  async #stuck(entry: Deployment, j: Judgement, why: string): Promise<void> {
    const verdict = `${j.reason}; not rolled back: ${why}`;
    const gate = gateResult('failed', verdict, j);
    await this.#o.store.recordGate(entry.id, { gate, verdict }, () => [
      {
        reason: 'VerificationFailed',
        color: entry.color,
        actor: VERIFY_SOURCE,
        message: `${entry.tag} on ${entry.color} failed verification: ${verdict}`,
        data: { tag: entry.tag, deployment: entry.id, verdict, measured: gate.measured },
      },
    ]);
    this.#o.metrics?.deploy('verify_failed');
  }

  #facts(ledger: readonly Deployment[]): { ledger: readonly Deployment[]; colors: ColorsFacts } {
    return { ledger, colors: this.#o.colors() };
  }
}

function gateResult(result: GateResult['result'], verdict: string, j: Judgement): GateResult {
  return { name: 'verify', result, verdict, measured: measuredNumbers(j.measured) };
}
