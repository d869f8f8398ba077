// plan(desired, observed) -> actions and status. A pure function: it reads nothing, writes nothing,
// and never asks what triggered the pass. Everything with side effects lives in act.ts. Each color
// is planned on its own (its release here, its unit in plan-unit.ts), then traffic (plan-traffic.ts).
import { COLORS, type Color } from '../common/types.js';
import { holdRoute, planCanary } from './plan-canary.js';
import { carries, smokeGate } from './plan-gates.js';
import { holdServingDeploy, markFailover, planRoute, planStop } from './plan-traffic.js';
import { planUnit, type ColorPlan } from './plan-unit.js';
import type { Action, Plan, PlanInput } from './types.js';

export function plan({ desired, observed, context }: PlanInput): Plan {
  const perColor = {} as Record<Color, ColorPlan>;
  for (const color of COLORS) perColor[color] = planColor(color, { desired, observed, context });

  // A rollout starts only towards a color that passed its gates; the color it leaves keeps its traffic.
  const canary = planCanary({ desired, observed, context }, (color) => carries(color, observed.routed, perColor));
  const route = canary.hold
    ? holdRoute(canary.hold, observed, (color) => perColor[color].ready)
    : planRoute({ desired, observed, context }, perColor);
  markFailover(route.active, { desired, observed, context }, perColor);
  holdServingDeploy(route.active, desired, observed, perColor);
  // Builds and smoke runs first (they only queue), then traffic moves (only ever to a Ready color),
  // then units change, then retired colors stop: a color is never restarted while traffic could still leave it.
  const unitActions = COLORS.flatMap((color) => perColor[color].actions);
  const queued = (a: Action): boolean => a.kind === 'build' || a.kind === 'smoke';
  const actions: Action[] = unitActions.filter(queued);
  actions.push(...canary.before);
  if (route.action) actions.push(route.action);
  actions.push(...canary.after);
  actions.push(...unitActions.filter((a) => !queued(a)));
  for (const color of COLORS) {
    const stop = planStop(color, { desired, observed, context }, route.active);
    if (stop.action) actions.push(stop.action);
    if (stop.status) perColor[color].status = stop.status;
  }

  const colors = { blue: perColor.blue.status, green: perColor.green.status };
  if (desired.paused) {
    // Paused: observe and report, change nothing. Restoring the data plane after a daemon restart
    // (nothing routed yet) is not a change to the host, so that one route is still taken.
    const restore = actions.filter((a) => a.kind === 'route' && observed.routed === null);
    return { actions: restore, colors, waiting: route.waiting ?? 'paused: no changes are made' };
  }
  return { actions, colors, waiting: route.waiting };
}

function planColor(color: Color, { desired, observed, context }: PlanInput): ColorPlan {
  const tag = desired.colors[color].tag;
  const obs = observed.colors[color];
  if (tag === null) {
    return { actions: [], ready: false, status: { phase: 'Empty', message: 'no tag desired' } };
  }
  const release = observed.releases[tag];
  if (observed.jobs.has(tag)) {
    const phase = release?.status === 'testing' ? 'Testing' : 'Building';
    return { actions: [], ready: false, status: { phase, message: `${phase.toLowerCase()} ${tag}` } };
  }
  if (
    !release ||
    release.status === 'pending' ||
    release.status === 'interrupted' ||
    release.status === 'building' ||
    release.status === 'testing'
  ) {
    const why = release ? `release ${tag} is ${release.status}` : `no release record for ${tag}`;
    return {
      actions: [{ kind: 'build', tag, reason: why }],
      ready: false,
      status: { phase: 'Building', message: `build of ${tag} queued (${why})` },
    };
  }
  if (release.status === 'failed' || release.status === 'rejected') {
    const message = `release ${tag} ${release.status}: ${release.error ?? 'see its logs'}`;
    return { actions: [], ready: false, status: { phase: 'Failed', message } };
  }
  if (observed.missingArtifacts.has(tag)) {
    const why = `artifact of ${tag} is missing at ${release.artifactPath}`;
    return {
      actions: [{ kind: 'build', tag, reason: why }],
      ready: false,
      status: { phase: 'Building', message: `rebuilding: ${why}` },
    };
  }
  const spec = context.specFor(color, release);
  if (spec === null) {
    return { actions: [], ready: false, status: { phase: 'Failed', message: `release ${tag} has no artifact` } };
  }
  const unit = planUnit(color, spec, obs, context);
  if (!unit.ready) return unit;
  const gated = smokeGate(color, release, observed, context, unit.status);
  return { actions: [...unit.actions, ...gated.actions], ready: true, status: gated.status, gate: gated.gate };
}
