// The status's conditions (Flux-style: a type, True/False, a reason a program matches, a message an
// operator reads), each made from the facts that decide it. Pure: the time comes in.
import type { Condition } from '../common/status.js';
import type { StoreHealth } from '../common/types.js';
import type { ActionOutcome } from './act.js';
import type { Plan } from './types.js';

export type NewCondition = Omit<Condition, 'lastTransitionTime'>;

/** Sets a condition, keeping its lastTransitionTime unless its status changed. */
export function setCondition(conditions: Condition[], next: NewCondition, now: string): Condition[] {
  const previous = conditions.find((c) => c.type === next.type);
  const lastTransitionTime = previous && previous.status === next.status ? previous.lastTransitionTime : now;
  return [...conditions.filter((c) => c.type !== next.type), { ...next, lastTransitionTime }];
}

/** Reconciling after a completed pass: True unless an action failed (then which, and what was not run). */
export function reconcilingCondition(outcomes: readonly ActionOutcome[]): NewCondition {
  const failed = outcomes.flatMap((o) => (o.result === 'failed' ? [`${o.action.kind}: ${o.error}`] : []));
  if (failed.length === 0)
    return { type: 'Reconciling', status: 'True', reason: 'PassSucceeded', message: `${outcomes.length} action(s)` };
  const skipped = outcomes.filter((o) => o.result === 'skipped').length;
  const notRun = skipped > 0 ? `; ${skipped} later action(s) not run` : '';
  return { type: 'Reconciling', status: 'False', reason: 'ActionFailed', message: `${failed.join('; ')}${notRun}` };
}

/** Reconciling after a pass that could not complete (the store or an observation failed). */
export function passFailedCondition(error: string): NewCondition {
  return { type: 'Reconciling', status: 'False', reason: 'PassFailed', message: error };
}

/** Ready: the host matches the desired state, or what the loop still does or waits for. */
export function readyCondition(plan: Plan, paused: boolean): NewCondition {
  if (plan.waiting === null && plan.actions.length === 0)
    return { type: 'Ready', status: 'True', reason: 'Converged', message: 'the host matches the desired state' };
  return {
    type: 'Ready',
    status: 'False',
    reason: paused ? 'Paused' : 'Progressing',
    message: plan.waiting ?? plan.actions.map((a) => `${a.kind}: ${a.reason}`).join('; '),
  };
}

/** A desired-state source's health (the file or the config repo): null when its last read was valid. */
export function sourceCondition(source: string, error: string | null): NewCondition {
  return error === null
    ? { type: 'DesiredSourceValid', status: 'True', reason: 'Valid', message: `${source}: valid` }
    : { type: 'DesiredSourceValid', status: 'False', reason: 'Invalid', message: `${source}: ${error}` };
}

/** The store's integrity: a damaged store is a problem with its fix. */
export function storeCondition(health: StoreHealth): NewCondition {
  switch (health.state) {
    case 'ok':
      return { type: 'StoreHealthy', status: 'True', reason: 'Ok', message: health.detail };
    case 'damaged':
      return {
        type: 'StoreHealthy',
        status: 'False',
        reason: 'Damaged',
        message: `${health.detail}: writes are refused; fix: ${health.fix}`,
      };
    default: {
      const never: never = health;
      throw new Error(`unknown store health ${JSON.stringify(never)}`);
    }
  }
}
