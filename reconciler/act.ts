// Carries out the actions of a plan, in order. Each action is idempotent (deploying the same spec
// twice writes nothing new, routing to the current target is a no-op) and each outcome becomes an
// event, so the audit trail explains every change the loop made to the host.
import type { Color, NewEvent } from '../common/types.js';
import type { UnitDriver } from '../units/driver.js';
import type { Observer } from './observe.js';
import type { RouteTarget, TrafficRouter } from './ports.js';
import type { Action } from './types.js';

export interface ActorDeps {
  driver: UnitDriver;
  router: TrafficRouter;
  /** Queues a build (and its BuildQueued event) unless one is queued or running. */
  build(tag: string, reason: string): void;
  observer: Observer;
  ports: Record<Color, number>;
  event(event: NewEvent): Promise<void>;
  /** Public traffic now goes to `color` (null: nowhere), at its desired tag: the deployment ledger's hook. */
  served(color: Color | null): Promise<void>;
}

export interface ActionOutcome {
  action: Action;
  ok: boolean;
  error: string | null;
}

export async function act(actions: readonly Action[], deps: ActorDeps): Promise<ActionOutcome[]> {
  const outcomes: ActionOutcome[] = [];
  // Drains started by a route action of this pass: a color is stopped only after its requests finished.
  const drains: Array<Promise<unknown>> = [];
  for (const action of actions) {
    try {
      await perform(action, deps, drains);
      outcomes.push({ action, ok: true, error: null });
    } catch (err) {
      const error = (err as Error).message;
      outcomes.push({ action, ok: false, error });
      await deps.event({
        reason: 'ActionFailed',
        message: `${action.kind} failed: ${error}`,
        color: 'color' in action ? action.color : null,
        data: { action },
      });
    }
  }
  return outcomes;
}

async function perform(action: Action, deps: ActorDeps, drains: Array<Promise<unknown>>): Promise<void> {
  switch (action.kind) {
    case 'build': {
      deps.build(action.tag, action.reason);
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
        data: { tag: spec.tag },
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
      const target = (color: Color | null): RouteTarget | null =>
        color === null ? null : { color, port: deps.ports[color] };
      const before = deps.router.activeColor();
      drains.push(deps.router.route(target(action.active), target(action.preview)).catch(() => undefined));
      if (before !== action.active) await deps.served(action.active);
      await deps.event({
        reason: 'Routed',
        color: action.active,
        message: action.reason,
        data: { active: action.active, preview: action.preview },
      });
      return;
    }
    default: {
      const never: never = action;
      throw new Error(`unknown action ${JSON.stringify(never)}`);
    }
  }
}
