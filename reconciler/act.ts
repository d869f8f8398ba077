// Carries out the actions of a plan, in order. plan() orders them assuming each earlier one
// succeeded (traffic moves before the color it leaves is stopped), so the first failure ends the
// pass: the actions after it are reported as skipped, and the next pass plans again from what it
// observes. Each action is idempotent (deploying the same spec twice writes nothing new, routing to
// the current target is a no-op) and each outcome becomes an event, so the audit trail explains
// every change the loop made to the host.
import type { Color, NewEvent } from '../common/types.js';
import type { UnitDriver } from '../units/driver.js';
import type { Observer } from './observe.js';
import type { RouteTarget, TrafficRouter } from './ports.js';
import type { Action } from './types.js';
import type { CanaryController } from './canary.js';

export interface ActorDeps {
  driver: UnitDriver;
  router: TrafficRouter;
  /** Queues a build (and its BuildQueued event) unless one is queued or running. */
  build(tag: string, reason: string): void;
  /** Queues the smoke gate of `tag` against `color` (its SmokeQueued event) unless it is queued or running. */
  smoke(color: Color, tag: string, reason: string): void;
  observer: Pick<Observer, 'forget' | 'noteHealRestart'>;
  ports: Record<Color, number>;
  /**
   * Right before public traffic moves to `color`: resolves when it still answers Ready, throws
   * (Observer.confirmReady: NotReadyError) when it does not; the observation that planned the move
   * may be seconds old.
   */
  confirmReady(color: Color): Promise<void>;
  /** Best effort (EventLog.record): never rejects, so a lost event never fails an action. */
  event(event: NewEvent): Promise<void>;
  /** Public traffic now goes to `color` (null: nowhere), at its desired tag: the deployment ledger's hook. */
  served(color: Color | null): Promise<void>;
  /** The canary step controller, when gates.canary is on. @default null */
  canary?: Pick<CanaryController, 'begin' | 'end' | 'state'> | null;
}

export type ActionOutcome =
  | { action: Action; result: 'done' }
  | { action: Action; result: 'failed'; error: string }
  | { action: Action; result: 'skipped'; why: string };

export async function act(actions: readonly Action[], deps: ActorDeps): Promise<ActionOutcome[]> {
  const outcomes: ActionOutcome[] = [];
  // Drains started by a route action of this pass: a color is stopped only after its requests finished.
  const drains: Array<Promise<unknown>> = [];
  let failure: { action: Action; error: string } | null = null;
  for (const [index, action] of actions.entries()) {
    if (failure) {
      outcomes.push({ action, result: 'skipped', why: skippedBecause(failure) });
      continue;
    }
    try {
      await perform(action, deps, drains);
      outcomes.push({ action, result: 'done' });
    } catch (err) {
      failure = { action, error: (err as Error).message };
      outcomes.push({ action, result: 'failed', error: failure.error });
      await deps.event(failedEvent(action, failure.error, actions.slice(index + 1)));
    }
  }
  return outcomes;
}

function skippedBecause(failure: { action: Action; error: string }): string {
  return `not run: ${failure.action.kind} failed before it (${failure.error}); the next pass plans again`;
}

function failedEvent(action: Action, error: string, notRun: readonly Action[]): NewEvent {
  const rest =
    notRun.length === 0
      ? ''
      : `; not run in this pass: ${notRun.map((a) => ('color' in a ? `${a.kind} ${a.color}` : a.kind)).join(', ')}`;
  return {
    reason: 'ActionFailed',
    message: `${action.kind} failed: ${error}${rest}`,
    color: 'color' in action ? action.color : null,
    data: { action, notRun },
  };
}

async function perform(action: Action, deps: ActorDeps, drains: Array<Promise<unknown>>): Promise<void> {
  switch (action.kind) {
    case 'build': {
      deps.build(action.tag, action.reason);
      return;
    }
    case 'smoke': {
      deps.smoke(action.color, action.tag, action.reason);
      return;
    }
    case 'deploy': {
      const { color, spec } = action;
      await deps.driver.install(spec);
      await deps.driver.restart(color);
      deps.observer.forget(color);
      // A new tag in place on the color that serves: the ledger's open entry ends here.
      if (deps.router.activeColor() === color) await deps.served(color);
      await deps.event({
        reason: 'Deployed',
        color,
        message: `${color} now runs ${spec.tag}: ${action.reason}`,
        data: { tag: spec.tag, ...(action.drift ? { drift: action.drift.what } : {}) },
      });
      return;
    }
    case 'start': {
      await deps.driver.start(action.color);
      deps.observer.forget(action.color);
      await deps.event({
        reason: 'Started',
        color: action.color,
        message: `${action.color} started: ${action.reason}`,
        ...(action.drift ? { data: { tag: action.drift.tag, drift: action.drift.what } } : {}),
      });
      return;
    }
    case 'restart': {
      await deps.driver.restart(action.color);
      deps.observer.noteHealRestart(action.color);
      await deps.event({
        reason: 'Restarted',
        color: action.color,
        message: `${action.color} restarted to heal it: ${action.reason}`,
      });
      return;
    }
    case 'stop': {
      await Promise.all(drains);
      await deps.driver.stop(action.color);
      deps.observer.forget(action.color);
      await deps.event({
        reason: 'Stopped',
        color: action.color,
        message: `${action.color} stopped: ${action.reason}`,
      });
      return;
    }
    case 'route': {
      await route(action, deps, drains);
      return;
    }
    case 'canary': {
      await deps.confirmReady(action.to);
      await deps.canary?.begin({ from: action.from, to: action.to, tag: action.tag }, action.step);
      return;
    }
    case 'end-canary': {
      await deps.canary?.end();
      await deps.event({ reason: 'CanaryEnded', message: action.reason, data: {} });
      return;
    }
    default: {
      const never: never = action;
      throw new Error(`unknown action ${JSON.stringify(never)}`);
    }
  }
}

async function route(
  action: Extract<Action, { kind: 'route' }>,
  deps: ActorDeps,
  drains: Array<Promise<unknown>>,
): Promise<void> {
  const target = (color: Color | null): RouteTarget | null =>
    color === null ? null : { color, port: deps.ports[color] };
  const before = deps.router.activeColor();
  // The color public traffic moves to, if this route moves it (a preview change moves none).
  const moving = action.active !== before ? action.active : null;
  if (moving) await deps.confirmReady(moving);
  drains.push(deps.router.route(target(action.active), target(action.preview)).catch(() => undefined));
  // The full switch a canary led up to: its split has nothing left to do.
  if (action.active !== null && deps.canary?.state()?.to === action.active) await deps.canary.end();
  if (action.active !== before) await deps.served(action.active);
  await deps.event({
    reason: 'Routed',
    color: action.active,
    message: action.reason,
    data: { active: action.active, preview: action.preview },
  });
}
