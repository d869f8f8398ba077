// The unit and the observation of a color that runs a tag and answers Ready: what the plan tests
// (plan.test.ts, plan-gates.test.ts) build their observed worlds from.
import type { Color } from '../../common/types.js';
import type { ColorObservation } from '../../reconciler/types.js';
import type { UnitSpec } from '../../units/driver.js';

export function spec(color: Color, tag: string): UnitSpec {
  const version = tag.slice(1);
  return {
    color,
    tag,
    version,
    executable: `/var/openhack/artifacts/${tag}/${version}`,
    port: color === 'blue' ? 8001 : 8002,
    deployment: 'prod',
    envRoot: '/var/openhack/env',
    logFile: `/var/openhack/logs/${color}.log`,
  };
}

export function running(color: Color, tag: string, extra: Partial<ColorObservation> = {}): ColorObservation {
  return {
    unit: {
      color,
      loadState: 'loaded',
      activeState: 'active',
      subState: 'running',
      mainPid: 100,
      nRestarts: 0,
      installed: spec(color, tag),
      drift: null,
    },
    health: { ready: true, version: tag.slice(1), reason: 'ok' },
    consecutiveFailures: 0,
    wasReady: true,
    runningForMs: 10_000,
    healRestarts: 0,
    sinceHealRestartMs: null,
    ...extra,
  };
}
