// plan(desired, observed) -> actions and status. A pure function: it reads nothing, writes nothing,
// and never asks what triggered the pass. Everything with side effects lives in act.ts.
import { COLORS, otherColor, type Color } from '../common/types.js';
import { describeUnitState, isFailed, isLoaded, isUp } from '../common/unit-state.js';
import type { UnitSpec } from '../units/driver.js';
import type { Action, ColorObservation, ColorStatus, Plan, PlanInput } from './types.js';

interface ColorPlan {
  actions: Action[];
  status: ColorStatus;
  /** Ready at the tag the desired state names for it: the only kind of color traffic may move to. */
  ready: boolean;
}

export function plan({ desired, observed, context }: PlanInput): Plan {
  const perColor = {} as Record<Color, ColorPlan>;
  for (const color of COLORS) perColor[color] = planColor(color, { desired, observed, context });

  const route = planRoute({ desired, observed, context }, perColor);
  markFailover(route.active, perColor);
  holdServingDeploy(route.active, desired, observed, perColor);
  // Builds first (they only queue), then traffic moves (only ever to a Ready color), then units
  // change, then retired colors stop: a color is never restarted while traffic could still leave it.
  const unitActions = COLORS.flatMap((color) => perColor[color].actions);
  const actions: Action[] = unitActions.filter((a) => a.kind === 'build');
  if (route.action) actions.push(route.action);
  actions.push(...unitActions.filter((a) => a.kind !== 'build'));
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
  return planUnit(color, spec, obs, context);
}

function planUnit(color: Color, spec: UnitSpec, obs: ColorObservation, context: PlanInput['context']): ColorPlan {
  const { unit } = obs;
  if (!isLoaded(unit) || unit.installed === null || !sameSpec(unit.installed, spec) || unit.drift !== null) {
    const why =
      unit.installed === null
        ? 'no unit installed'
        : unit.installed.tag !== spec.tag
          ? `unit runs ${unit.installed.tag}`
          : (unit.drift ?? 'unit file differs from the desired one');
    const deploy: Action = { kind: 'deploy', color, spec, reason: `${why}; want ${spec.tag}` };
    if (unit.drift !== null) deploy.drift = { what: unit.drift, tag: spec.tag };
    return {
      actions: [deploy],
      ready: false,
      status: { phase: 'Starting', message: `installing ${spec.tag} (${why})` },
    };
  }
  // Starting (or waiting to restart by itself) is systemd's work under way: not a unit to start.
  if (!isUp(unit)) {
    return planStopped(color, spec, obs, context);
  }
  if (obs.health?.ready) {
    return { actions: [], ready: true, status: { phase: 'Ready', message: `serving ${spec.tag}` } };
  }
  return planUnhealthy(color, spec, obs, context);
}

function planStopped(color: Color, spec: UnitSpec, obs: ColorObservation, context: PlanInput['context']): ColorPlan {
  const state = describeUnitState(obs.unit);
  if (!isFailed(obs.unit)) {
    return {
      // Installed at the desired tag yet not running: stopped by hand, or it exited by itself.
      actions: [
        { kind: 'start', color, reason: `unit is ${state}`, drift: { what: `${color} was ${state}`, tag: spec.tag } },
      ],
      ready: false,
      status: { phase: 'Starting', message: `starting ${spec.tag} (unit was ${state})` },
    };
  }
  // A failed unit went past systemd's own restarts: restart it ourselves, with backoff.
  const heal = healRestart(color, obs, context, `unit ${state}`);
  return { actions: heal.actions, ready: false, status: { phase: 'Failed', message: `unit ${state}; ${heal.note}` } };
}

function planUnhealthy(color: Color, spec: UnitSpec, obs: ColorObservation, context: PlanInput['context']): ColorPlan {
  const reason = obs.health?.reason ?? 'not probed yet';
  const answered = obs.health?.version ?? null;
  if (answered !== null && answered !== spec.version) {
    // A definite answer with another version: something else serves this color's port.
    const heal = healRestart(
      color,
      obs,
      context,
      `port ${spec.port} answers version ${answered}, want ${spec.version}`,
    );
    return {
      actions: heal.actions,
      ready: false,
      status: {
        phase: 'Degraded',
        message: `port ${spec.port} answers version ${answered}, want ${spec.version}; ${heal.note}`,
      },
    };
  }
  if (!obs.wasReady) {
    if (obs.runningForMs < context.startTimeoutMs) {
      return {
        actions: [],
        ready: false,
        status: { phase: 'Starting', message: `waiting for ${spec.tag} to be Ready: ${reason}` },
      };
    }
    const heal = healRestart(color, obs, context, `not Ready after ${Math.round(obs.runningForMs / 1000)}s: ${reason}`);
    return {
      actions: heal.actions,
      ready: false,
      status: { phase: 'Failed', message: `${spec.tag} not Ready in time: ${reason}; ${heal.note}` },
    };
  }
  if (obs.consecutiveFailures < context.failureThreshold) {
    const message = `${obs.consecutiveFailures} failed probe(s) of ${context.failureThreshold}: ${reason}`;
    return { actions: [], ready: false, status: { phase: 'Degraded', message } };
  }
  const heal = healRestart(color, obs, context, `${obs.consecutiveFailures} failed probes: ${reason}`);
  return { actions: heal.actions, ready: false, status: { phase: 'Degraded', message: `${reason}; ${heal.note}` } };
}

function healRestart(
  color: Color,
  obs: ColorObservation,
  context: PlanInput['context'],
  why: string,
): { actions: Action[]; note: string } {
  const wait = context.healBackoffMs(obs.healRestarts);
  if (obs.sinceHealRestartMs !== null && obs.sinceHealRestartMs < wait) {
    const left = Math.ceil((wait - obs.sinceHealRestartMs) / 1000);
    return { actions: [], note: `next restart in ${left}s (attempt ${obs.healRestarts + 1})` };
  }
  return { actions: [{ kind: 'restart', color, reason: why }], note: `restarting (attempt ${obs.healRestarts + 1})` };
}

/** Traffic on a color that is down while the other is Ready: the proxy fails over, status says so. */
function markFailover(active: Color | null, perColor: Record<Color, ColorPlan>): void {
  if (active === null || perColor[active].ready) return;
  const other = otherColor(active);
  if (!perColor[other].ready) return;
  const { status } = perColor[active];
  perColor[active].status = {
    phase: 'Degraded',
    message: `${status.phase}: ${status.message}; requests fail over to ${other}`,
  };
}

/**
 * A new tag for the color that carries all traffic waits while the other color is expected to
 * take over (it has a tag) but is not Ready yet: deploying now would be an outage. With no other
 * color to take over, the deploy goes ahead in place.
 */
function holdServingDeploy(
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

interface RoutePlan {
  action: Action | null;
  active: Color | null;
  waiting: string | null;
}

function planRoute({ desired, observed }: PlanInput, perColor: Record<Color, ColorPlan>): RoutePlan {
  const want = desired.active;
  // Traffic moves only to a color that is Ready at its desired tag; otherwise it stays where it is.
  let active: Color | null;
  let waiting: string | null = null;
  if (want === null) {
    active = null;
  } else if (perColor[want].ready) {
    active = want;
  } else {
    active = observed.routed;
    waiting = `traffic waits for ${want} to be Ready: ${perColor[want].status.message}`;
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

function planStop(
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

/** Specs are equal when every rendered field is: a unit edited by hand no longer matches. */
export function sameSpec(a: UnitSpec, b: UnitSpec): boolean {
  return (
    a.color === b.color &&
    a.tag === b.tag &&
    a.version === b.version &&
    a.executable === b.executable &&
    a.port === b.port &&
    a.deployment === b.deployment &&
    a.envRoot === b.envRoot &&
    a.logFile === b.logFile
  );
}
