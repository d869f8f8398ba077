// plan() with gates.canary: a switch between two Ready colors becomes a rollout, traffic stays on
// the color it leaves while the split carries the canary, the full switch follows the last step, and
// a rollout that no longer fits the desired state or the colors ends. Pure: no clock, no I/O.
import { expect } from 'chai';
import type { Color, DesiredDoc, ReleaseRecord } from '../common/types.js';
import type { CanaryState } from '../reconciler/canary.js';
import { plan } from '../reconciler/plan.js';
import type { ColorObservation, Observed, PlanContext } from '../reconciler/types.js';
import type { UnitSpec } from '../units/driver.js';

const STEPS = [10, 50];
const context: PlanContext = {
  specFor: (color, release) => spec(color, release.tag),
  failureThreshold: 3,
  startTimeoutMs: 60_000,
  healBackoffMs: () => 1000,
  canarySteps: STEPS,
};

function spec(color: Color, tag: string): UnitSpec {
  return {
    color,
    tag,
    version: tag.slice(1),
    executable: `/a/${tag}/${tag.slice(1)}`,
    port: color === 'blue' ? 8001 : 8002,
    deployment: 'prod',
    envRoot: '/env',
    logFile: `/logs/${color}.log`,
  };
}

function release(tag: string): ReleaseRecord {
  const r = { tag, sha: 'abc', version: tag.slice(1), author: 'dev', status: 'succeeded' as const, error: null };
  return { ...r, build: null, test: null, artifactPath: `/a/${tag}`, createdAt: '', updatedAt: '' };
}

function running(color: Color, tag: string, ready = true): ColorObservation {
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
    health: { ready, version: tag.slice(1), reason: ready ? 'ok' : 'HTTP 503' },
    consecutiveFailures: ready ? 0 : 5,
    wasReady: true,
    runningForMs: 10_000,
    healRestarts: 0,
    sinceHealRestartMs: 0,
  };
}

const desired = (active: Color | null): DesiredDoc => ({
  active,
  colors: { blue: { tag: 'v1' }, green: { tag: 'v2' } },
  paused: false,
});

function observed(routed: Color | null, canary: CanaryState | null, greenReady = true): Observed {
  return {
    colors: { blue: running('blue', 'v1'), green: running('green', 'v2', greenReady) },
    routed,
    serving: routed,
    outOfRouting: { blue: null, green: null },
    preview: routed === null ? null : routed === 'blue' ? 'green' : 'blue',
    releases: { v1: release('v1'), v2: release('v2') },
    jobs: new Set(),
    missingArtifacts: new Set(),
    canary,
  };
}

const ROLLOUT = { from: 'blue', to: 'green', tag: 'v2' } as const;
const stepping = (step: number): CanaryState => ({
  phase: 'stepping',
  ...ROLLOUT,
  step,
  weight: STEPS[step]!,
  startedAt: 0,
});

describe('plan with gates.canary', () => {
  it('turns a switch between two Ready colors into a rollout at the first step; traffic stays', () => {
    const p = plan({ desired: desired('green'), observed: observed('blue', null), context });
    expect(p.actions).to.deep.equal([
      { kind: 'canary', ...ROLLOUT, step: 0, reason: 'switch blue -> green moves in steps (gates.canary)' },
    ]);
    expect(p.waiting).to.equal('canary: green (v2) has 10% of the clients, step 1 of 3 (10 -> 50 -> 100%)');
  });

  it('moves all at once without gates.canary, or when nothing is routed yet', () => {
    const off = plan({
      desired: desired('green'),
      observed: observed('blue', null),
      context: { ...context, canarySteps: null },
    });
    expect(off.actions.map((a) => a.kind)).to.deep.equal(['route']);
    const fresh = plan({ desired: desired('green'), observed: observed(null, null), context });
    expect(fresh.actions).to.deep.include({
      kind: 'route',
      active: 'green',
      preview: 'blue',
      reason: 'traffic none -> green',
    });
  });

  it('while a step runs: no action, traffic on the old color, the status says which step', () => {
    const p = plan({ desired: desired('green'), observed: observed('blue', stepping(1)), context });
    expect(p.actions).to.deep.equal([]);
    expect(p.waiting).to.match(/^canary: green \(v2\) has 50% of the clients, step 2 of 3/);
  });

  it('once every step passed (or --now): the full switch', () => {
    for (const why of ['passed', 'now'] as const) {
      const promoting: CanaryState = { phase: 'promoting', ...ROLLOUT, why };
      const p = plan({ desired: desired('green'), observed: observed('blue', promoting), context });
      expect(p.actions.map((a) => a.kind)).to.deep.equal(['route']);
      expect(p.actions[0]).to.include({ active: 'green' });
    }
  });

  it('ends the rollout when the desired state goes back, or the new color stops being Ready', () => {
    const back = plan({ desired: desired('blue'), observed: observed('blue', stepping(0)), context });
    expect(back.actions).to.deep.equal([
      { kind: 'end-canary', reason: 'the canary ends: the desired state sends traffic to blue' },
    ]);
    const sick = plan({ desired: desired('green'), observed: observed('blue', stepping(1), false), context });
    expect(sick.actions).to.deep.equal([
      { kind: 'end-canary', reason: 'the canary ends: green is no longer Ready at v2' },
      { kind: 'route', active: 'blue', preview: null, reason: 'preview green -> none' },
    ]);
    expect(sick.waiting).to.match(/traffic waits for green/);
  });

  it('after a restart: traffic back to the old color first, then the saved step resumes', () => {
    const restored: CanaryState = { phase: 'restored', ...ROLLOUT, step: 1 };
    const p = plan({ desired: desired('green'), observed: observed(null, restored), context });
    expect(p.actions).to.deep.equal([
      { kind: 'route', active: 'blue', preview: 'green', reason: 'traffic none -> blue (the canary resumes from it)' },
      { kind: 'canary', ...ROLLOUT, step: 1, reason: 'resuming the canary of v2 after a restart at step 2' },
    ]);
    const changed = plan({ desired: desired('blue'), observed: observed(null, restored), context });
    expect(
      changed.actions.map((a) => a.kind),
      'a rollout the desired state left',
    ).to.deep.equal(['end-canary', 'route']);
  });
});
