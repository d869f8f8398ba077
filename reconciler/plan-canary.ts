// The canary's part of plan(): pure, like the rest of it. A switch with gates.canary starts a rollout
// instead of moving traffic; while one runs, traffic stays on the color it leaves (the proxy's split
// gives the new one its share); when every step passed (or switch --now), the usual route action makes
// the full switch; when the rollout no longer fits the desired state or the colors, it ends.
import type { CanaryState } from './canary.js';
import { otherColor, type Color } from '../common/types.js';
import type { Action, PlanInput } from './types.js';

export interface CanaryPlan {
  /** Before the route action (end-canary). */
  before: Action[];
  /** After it (start or resume a rollout). */
  after: Action[];
  /**
   * Traffic stays on `active` while the split carries the canary; null: plan the route as usual.
   * `restore`: after a restart, public traffic must first go back to `active`.
   */
  hold: { active: Color; waiting: string; restore: boolean } | null;
}

const NONE: CanaryPlan = { before: [], after: [], hold: null };

export function planCanary({ desired, observed, context }: PlanInput, ready: (color: Color) => boolean): CanaryPlan {
  const c = observed.canary ?? null;
  const steps = context.canarySteps ?? null;
  if (c === null) return steps === null ? NONE : start({ desired, observed }, steps, ready);
  const fits = desired.active === c.to && desired.colors[c.to].tag === c.tag && ready(c.to);
  if (c.phase === 'promoting') {
    if (fits && observed.routed !== c.to) return NONE;
    return end(fits ? `${c.to} serves all traffic` : misfit(c, desired.active));
  }
  if (!fits || steps === null || !ready(c.from)) {
    const why = steps === null ? 'gates.canary is off' : !fits ? misfit(c, desired.active) : `${c.from} is not Ready`;
    return end(why);
  }
  const step = c.step + 1;
  if (c.phase === 'restored') {
    return {
      before: [],
      after: [canary(c, c.step, `resuming the canary of ${c.tag} after a restart at step ${step}`)],
      hold: { active: c.from, waiting: waiting(c.to, c.tag, steps[c.step]!, step, steps), restore: true },
    };
  }
  if (observed.routed !== c.from) return end(`public traffic is on ${observed.routed ?? 'nothing'}, not ${c.from}`);
  return {
    before: [],
    after: [],
    hold: { active: c.from, waiting: waiting(c.to, c.tag, c.weight, step, steps), restore: false },
  };
}

/** A switch between two Ready colors becomes a rollout; anything else is routed as usual. */
function start(
  { desired, observed }: Pick<PlanInput, 'desired' | 'observed'>,
  steps: readonly number[],
  ready: (color: Color) => boolean,
): CanaryPlan {
  const to = desired.active;
  const from = observed.routed;
  const tag = to === null ? null : desired.colors[to].tag;
  // No traffic to protect (nothing routed) or no other color to carry it: all at once.
  if (to === null || from === null || tag === null || to === from || !ready(to) || !ready(from)) return NONE;
  const rollout = { from, to, tag };
  return {
    before: [],
    after: [canary(rollout, 0, `switch ${from} -> ${to} moves in steps (gates.canary)`)],
    hold: { active: from, waiting: waiting(to, tag, steps[0]!, 1, steps), restore: false },
  };
}

function canary(r: { from: Color; to: Color; tag: string }, step: number, reason: string): Action {
  return { kind: 'canary', from: r.from, to: r.to, tag: r.tag, step, reason };
}

function end(why: string): CanaryPlan {
  return { before: [{ kind: 'end-canary', reason: `the canary ends: ${why}` }], after: [], hold: null };
}

function misfit(c: CanaryState, active: Color | null): string {
  return active === c.to
    ? `${c.to} is no longer Ready at ${c.tag}`
    : `the desired state sends traffic to ${active ?? 'nothing'}`;
}

function waiting(to: Color, tag: string, weight: number, step: number, steps: readonly number[]): string {
  const of = `step ${step} of ${steps.length + 1} (${[...steps, 100].join(' -> ')}%)`;
  return `canary: ${to} (${tag}) has ${weight}% of the clients, ${of}`;
}

/** While a canary runs traffic stays on the color it leaves; after a restart it goes back there first. */
export function holdRoute(
  hold: NonNullable<CanaryPlan['hold']>,
  observed: PlanInput['observed'],
  ready: (color: Color) => boolean,
): { action: Action | null; active: Color; waiting: string } {
  const other = otherColor(hold.active);
  const preview = ready(other) ? other : null;
  const moves = observed.routed !== hold.active || observed.preview !== preview;
  if (!hold.restore || !moves) return { action: null, active: hold.active, waiting: hold.waiting };
  const reason = `traffic ${observed.routed ?? 'none'} -> ${hold.active} (the canary resumes from it)`;
  return {
    action: { kind: 'route', active: hold.active, preview, reason },
    active: hold.active,
    waiting: hold.waiting,
  };
}
