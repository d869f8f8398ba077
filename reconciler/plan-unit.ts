// One color's unit, once its release has an artifact: plan() asks this part whether the unit must
// be installed, started, waited for or healed, and how the color's phase reads. Pure, like plan().
import type { Color } from '../common/types.js';
import { describeUnitState, isFailed, isLoaded, isUp } from '../common/unit-state.js';
import type { UnitSpec } from '../units/driver.js';
import type { GateState } from './plan-gates.js';
import type { Action, ColorObservation, ColorStatus, PlanInput } from './types.js';

/** What plan() concludes for one color before traffic is considered. */
export interface ColorPlan {
  actions: Action[];
  status: ColorStatus;
  /** Ready at the tag the desired state names for it: the only kind of color traffic may move to. */
  ready: boolean;
  /** A Ready color's promotion gates (plan-gates.ts); absent: none apply. */
  gate?: GateState;
}

/** A color whose release has an artifact: install it, start it, wait for it, or heal it. */
export function planUnit(
  color: Color,
  spec: UnitSpec,
  obs: ColorObservation,
  context: PlanInput['context'],
): ColorPlan {
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
