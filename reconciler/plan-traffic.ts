// Where traffic goes and what that holds back, once each color is planned: the route (only ever to
// a color Ready at its desired tag), the failover a down active color shows, the deploy held on the
// color that serves all traffic, and the stop of a color no tag is desired for. Pure, like plan().
import { COLORS, otherColor, type Color } from '../common/types.js';
import { isUp } from '../common/unit-state.js';
import { carries, restoreTo } from './plan-gates.js';
import type { ColorPlan } from './plan-unit.js';
import type { Action, ColorStatus, PlanInput } from './types.js';

/**
 * The color public traffic is routed to is not Ready: status says what the proxy does with its
 * requests. The health watch takes a color that failed `failureThreshold` probes in a row out of
 * routing between passes, and the router then sends its requests to the other color if that one is
 * Ready; before that, only the requests the color refuses are retried there.
 */
export function markFailover(
  active: Color | null,
  { observed, context }: PlanInput,
  perColor: Record<Color, ColorPlan>,
): void {
  if (active === null || perColor[active].ready) return;
  const other = otherColor(active);
  const out = observed.outOfRouting[active];
  const { status } = perColor[active];
  let message: string;
  if (out !== null && perColor[other].ready) {
    const until = `until ${active} answers again`;
    message = `${out}; public traffic goes to ${other} ${until} (${status.phase}: ${status.message})`;
  } else if (out !== null) {
    message = `${out}; ${other} is not Ready, so public traffic still goes to ${active} (${status.message})`;
  } else if (perColor[other].ready) {
    message =
      `${status.phase}: ${status.message}; public traffic still goes to ${active}, and to ${other} once ` +
      `${context.failureThreshold} probes in a row fail; requests ${active} refuses are retried on ${other}`;
  } else {
    return;
  }
  perColor[active].status = { phase: 'Degraded', message };
}

/**
 * A new tag for the color that carries all traffic waits while the other color is expected to
 * take over (it has a tag) but is not Ready yet: deploying now would be an outage. With no other
 * color to take over, the deploy goes ahead in place.
 */
export function holdServingDeploy(
  active: Color | null,
  desired: PlanInput['desired'],
  observed: PlanInput['observed'],
  perColor: Record<Color, ColorPlan>,
): void {
  if (active === null || observed.routed !== active) return;
  const other = otherColor(active);
  if (perColor[other].ready || desired.colors[other].tag === null) return;
  const installed = observed.colors[active].unit.installed;
  const held = perColor[active].actions.find(
    (a) => a.kind === 'deploy' && installed !== null && a.spec.tag !== installed.tag,
  );
  if (!held || held.kind !== 'deploy') return;
  perColor[active].actions = perColor[active].actions.filter((a) => a !== held);
  perColor[active].status = {
    phase: perColor[active].status.phase,
    message:
      `${held.spec.tag} waits: ${active} serves all traffic and ${other} is not Ready yet ` +
      `(${perColor[other].status.message})`,
  };
}

export interface RoutePlan {
  action: Action | null;
  active: Color | null;
  waiting: string | null;
}

export function planRoute({ desired, observed }: PlanInput, perColor: Record<Color, ColorPlan>): RoutePlan {
  const want = desired.active;
  // Traffic moves only to a color that is Ready at its desired tag and passed its gates; otherwise
  // it stays where it is.
  let active: Color | null;
  let waiting: string | null = null;
  if (want === null) {
    active = null;
  } else if (carries(want, observed.routed, perColor)) {
    active = want;
  } else {
    active = observed.routed ?? restoreTo(otherColor(want), perColor);
    const { ready, status } = perColor[want];
    waiting = ready
      ? `traffic waits for ${want} to pass its gates: ${status.message}`
      : `traffic waits for ${want} to be Ready: ${status.message}`;
  }
  // The preview listener serves the inactive color, when it is Ready at its desired tag.
  const inactive = active ? [otherColor(active)] : COLORS.filter((c) => c !== want);
  const preview = inactive.find((c) => perColor[c].ready) ?? null;
  if (active === observed.routed && preview === observed.preview) return { action: null, active, waiting };
  const reason =
    active === observed.routed
      ? `preview ${observed.preview ?? 'none'} -> ${preview ?? 'none'}`
      : `traffic ${observed.routed ?? 'none'} -> ${active ?? 'none'}`;
  return { action: { kind: 'route', active, preview, reason }, active, waiting };
}

export function planStop(
  color: Color,
  { desired, observed }: PlanInput,
  routedAfter: Color | null,
): { action: Action | null; status: ColorStatus | null } {
  if (desired.colors[color].tag !== null) return { action: null, status: null };
  const unit = observed.colors[color].unit;
  if (!isUp(unit)) return { action: null, status: null };
  if (routedAfter === color) {
    return {
      action: null,
      status: {
        phase: 'Degraded',
        message: 'no tag desired, but still serving traffic until the other color is Ready',
      },
    };
  }
  return {
    action: { kind: 'stop', color, reason: 'no tag desired' },
    status: { phase: 'Empty', message: `stopping (was running ${unit.installed?.tag ?? 'an unknown tag'})` },
  };
}
