// The promotion gates in the plan: what a color that is Ready at its desired tag still needs before
// traffic may move to it. Pure, like plan.ts: the release record says how the last smoke run ended,
// the observation which smoke runs are in flight; a Ready color with no result gets a run (so a
// restart that lost one simply runs it again).
import type { Color, ReleaseRecord } from '../common/types.js';
import { smokeLogCommand } from '../desired-state/transitions.js';
import type { Action, ColorStatus, Observed, PlanContext } from './types.js';

/**
 * `open`: traffic may move to the color (its gates passed, or there are none). `pending`: a gate
 * still runs. `failed`: a gate failed; traffic does not move to the color.
 */
export type GateState = 'open' | 'pending' | 'failed';

export interface GatedPlan {
  actions: Action[];
  status: ColorStatus;
  gate: GateState;
}

/** The smoke gate of `color`, which the plan found Ready at `release`'s tag. */
export function smokeGate(
  color: Color,
  release: ReleaseRecord,
  observed: Pick<Observed, 'smokes'>,
  context: Pick<PlanContext, 'smokeGate'>,
  ready: ColorStatus,
): GatedPlan {
  const { tag } = release;
  if (!context.smokeGate) return { actions: [], status: ready, gate: 'open' };
  if (observed.smokes?.has(tag)) {
    const message = `smoke test of ${tag} runs against ${color}`;
    const smoke = { state: 'running' as const, message, logCommand: smokeLogCommand(tag) };
    return { actions: [], status: { phase: 'Verifying', message, smoke }, gate: 'pending' };
  }
  const result = release.smoke ?? null;
  if (result === null) {
    const message = `smoke test of ${tag} queued against ${color}`;
    const action: Action = {
      kind: 'smoke',
      color,
      tag,
      reason: `${color} is Ready at ${tag}, which has no smoke result`,
    };
    const smoke = { state: 'queued' as const, message, logCommand: null };
    return { actions: [action], status: { phase: 'Verifying', message, smoke }, gate: 'pending' };
  }
  const logCommand = smokeLogCommand(tag);
  if (result.passed) {
    const smoke = { state: 'passed' as const, message: `smoke passed: ${result.summary}`, logCommand };
    return { actions: [], status: { ...ready, message: `${ready.message}; smoke passed`, smoke }, gate: 'open' };
  }
  const message = `smoke failed: ${result.summary}; traffic does not move to it (log: ${logCommand})`;
  const smoke = { state: 'failed' as const, message, logCommand };
  return { actions: [], status: { ...ready, message: `${ready.message}; ${message}`, smoke }, gate: 'failed' };
}

/** What the route needs of a color's plan. */
interface Gated {
  ready: boolean;
  gate?: GateState;
}

/**
 * Whether `color` may carry public traffic: Ready with its gates passed. Gates guard a move, not
 * what serves already: a color keeps the traffic it has while a gate runs again (or fails: taking
 * traffic away is a rollback's decision), and with nothing routed (a daemon restart) a color whose
 * gate merely runs gets it back at once.
 */
export function carries(color: Color, routed: Color | null, perColor: Record<Color, Gated>): boolean {
  const { ready, gate = 'open' } = perColor[color];
  if (!ready) return false;
  return gate === 'open' || routed === color || (routed === null && gate === 'pending');
}

/** With nothing routed and the desired color held by a failed gate, the other one serves if it may. */
export function restoreTo(other: Color, perColor: Record<Color, Gated>): Color | null {
  return carries(other, null, perColor) && perColor[other].gate !== 'pending' ? other : null;
}
