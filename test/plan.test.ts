import { expect } from 'chai';
import { type Color, type DesiredDoc, type ReleaseRecord, type ReleaseStatus } from '../common/types.js';
import { plan } from '../reconciler/plan.js';
import type { ColorObservation, Observed, PlanContext } from '../reconciler/types.js';
import { notInstalled } from '../units/driver.js';
import { running, spec } from './harness/plan-fixtures.js';

const context: PlanContext = {
  specFor: (color, release) => (release.artifactPath === null ? null : spec(color, release.tag)),
  failureThreshold: 3,
  startTimeoutMs: 60_000,
  healBackoffMs: (n) => 1000 * 2 ** n,
  smokeGate: false,
};

function release(tag: string, status: ReleaseStatus = 'succeeded'): ReleaseRecord {
  return {
    tag,
    sha: 'abc',
    version: tag.slice(1),
    author: 'dev',
    status,
    error: status === 'failed' ? 'TEST exited 1' : null,
    build: null,
    test: null,
    artifactPath: status === 'succeeded' ? `/a/${tag}` : null,
    createdAt: '',
    updatedAt: '',
  };
}

function absent(color: Color): ColorObservation {
  return {
    unit: notInstalled(color),
    health: null,
    consecutiveFailures: 0,
    wasReady: false,
    runningForMs: 0,
    healRestarts: 0,
    sinceHealRestartMs: null,
  };
}

function desired(blue: string | null, green: string | null, active: Color | null, paused = false): DesiredDoc {
  return { active, colors: { blue: { tag: blue }, green: { tag: green } }, paused };
}

function observed(o: Partial<Omit<Observed, 'releases'>> & { releases?: ReleaseRecord[] } = {}): Observed {
  const releases = Object.fromEntries((o.releases ?? []).map((r) => [r.tag, r]));
  return {
    colors: o.colors ?? { blue: absent('blue'), green: absent('green') },
    routed: o.routed ?? null,
    preview: o.preview ?? null,
    serving: o.serving ?? o.routed ?? null,
    outOfRouting: o.outOfRouting ?? { blue: null, green: null },
    jobs: o.jobs ?? new Set(),
    smokes: o.smokes ?? new Set(),
    releases,
    missingArtifacts: o.missingArtifacts ?? new Set(),
  };
}

const kinds = (p: ReturnType<typeof plan>): string[] =>
  p.actions.map(
    (a) =>
      `${a.kind}${'color' in a ? `:${a.color}` : ''}${'tag' in a ? `:${a.tag}` : ''}` +
      (a.kind === 'route' ? `:${a.active}/${a.preview}` : ''),
  );

describe('plan', () => {
  it('does nothing for an empty desired state on an empty host', () => {
    const p = plan({ desired: desired(null, null, null), observed: observed(), context });
    expect(p.actions).to.deep.equal([]);
    expect(p.colors.blue.phase).to.equal('Empty');
    expect(p.waiting).to.equal(null);
  });

  it('builds a desired tag that has no release record', () => {
    const p = plan({ desired: desired('v1', null, 'blue'), observed: observed(), context });
    expect(kinds(p)).to.deep.equal(['build:v1']);
    expect(p.colors.blue.phase).to.equal('Building');
    expect(p.waiting).to.match(/traffic waits for blue/);
  });

  for (const status of ['pending', 'interrupted'] as const) {
    it(`builds again a release that is ${status}`, () => {
      const p = plan({
        desired: desired('v1', null, 'blue'),
        observed: observed({ releases: [release('v1', status)] }),
        context,
      });
      expect(kinds(p)).to.deep.equal(['build:v1']);
    });
  }

  it('does not queue a second build while one is running, and reports Testing', () => {
    const p = plan({
      desired: desired('v1', null, 'blue'),
      observed: observed({ releases: [release('v1', 'testing')], jobs: new Set(['v1']) }),
      context,
    });
    expect(p.actions).to.deep.equal([]);
    expect(p.colors.blue.phase).to.equal('Testing');
  });

  for (const status of ['failed', 'rejected'] as const) {
    it(`never retries a ${status} release on its own and reports it as Failed`, () => {
      const p = plan({
        desired: desired('v1', null, 'blue'),
        observed: observed({ releases: [release('v1', status)] }),
        context,
      });
      expect(p.actions).to.deep.equal([]);
      expect(p.colors.blue.phase).to.equal('Failed');
      expect(p.colors.blue.message).to.contain(`release v1 ${status}`);
    });
  }

  it('reports a succeeded release without an artifact as Failed', () => {
    const r = { ...release('v1'), artifactPath: null };
    const p = plan({ desired: desired('v1', null, 'blue'), observed: observed({ releases: [r] }), context });
    expect(p.colors.blue).to.deep.equal({ phase: 'Failed', message: 'release v1 has no artifact' });
  });

  it('deploys a built release onto a color with no unit', () => {
    const p = plan({
      desired: desired('v1', null, 'blue'),
      observed: observed({ releases: [release('v1')] }),
      context,
    });
    expect(kinds(p)).to.deep.equal(['deploy:blue']);
    expect(p.colors.blue.phase).to.equal('Starting');
  });

  it('deploys when the unit runs another tag or its file was edited', () => {
    const other = plan({
      desired: desired('v2', null, 'blue'),
      observed: observed({
        releases: [release('v2')],
        colors: { blue: running('blue', 'v1'), green: absent('green') },
        routed: 'blue',
      }),
      context,
    });
    expect(kinds(other)).to.deep.equal(['deploy:blue']);
    const edited = running('blue', 'v1');
    edited.unit.installed = { ...spec('blue', 'v1'), port: 9999 };
    const drift = plan({
      desired: desired('v1', null, 'blue'),
      observed: observed({
        releases: [release('v1')],
        colors: { blue: edited, green: absent('green') },
        routed: 'blue',
      }),
      context,
    });
    expect(kinds(drift)).to.deep.equal(['deploy:blue']);
    expect(drift.colors.blue.message).to.contain('unit file differs');
  });

  it('starts an installed unit that is stopped', () => {
    const stopped = running('blue', 'v1', { health: null });
    stopped.unit = { ...stopped.unit, activeState: 'inactive', subState: 'dead', mainPid: null };
    const p = plan({
      desired: desired('v1', null, 'blue'),
      observed: observed({ releases: [release('v1')], colors: { blue: stopped, green: absent('green') } }),
      context,
    });
    expect(kinds(p)).to.deep.equal(['start:blue']);
  });

  it('leaves a unit systemd is starting or restarting alone, and serves from one that reloads', () => {
    const observe = (activeState: 'activating' | 'reloading', subState: 'auto-restart' | 'start' | 'reload') => {
      const unit = running('blue', 'v1', activeState === 'reloading' ? {} : { health: null, wasReady: false });
      unit.unit = { ...unit.unit, activeState, subState };
      return plan({
        desired: desired('v1', null, 'blue'),
        observed: observed({ releases: [release('v1')], colors: { blue: unit, green: absent('green') } }),
        context,
      });
    };
    for (const sub of ['start', 'auto-restart'] as const) {
      const p = observe('activating', sub);
      expect(kinds(p), sub).to.deep.equal([]);
      expect(p.colors.blue.phase, sub).to.equal('Starting');
    }
    const reloading = observe('reloading', 'reload');
    expect(reloading.colors.blue.phase).to.equal('Ready');
    expect(kinds(reloading)).to.deep.equal(['route:blue/null']);
  });

  it("names a state systemd has and this version does not in systemd's word", () => {
    const odd = running('blue', 'v1', { health: null });
    odd.unit = {
      ...odd.unit,
      activeState: 'unknown',
      subState: 'unknown',
      unrecognized: { activeState: 'hibernating', subState: 'dozing' },
    };
    const p = plan({
      desired: desired('v1', null, 'blue'),
      observed: observed({ releases: [release('v1')], colors: { blue: odd, green: absent('green') } }),
      context,
    });
    expect(p.actions.map((a) => a.reason)).to.deep.equal(['unit is hibernating/dozing']);
  });

  it('restarts a failed unit, then backs off', () => {
    const failed = running('blue', 'v1', { health: null });
    failed.unit = { ...failed.unit, activeState: 'failed', subState: 'failed', mainPid: null };
    const first = plan({
      desired: desired('v1', null, 'blue'),
      observed: observed({ releases: [release('v1')], colors: { blue: failed, green: absent('green') } }),
      context,
    });
    expect(kinds(first)).to.deep.equal(['restart:blue']);
    const soon = { ...failed, healRestarts: 2, sinceHealRestartMs: 1000 };
    const backoff = plan({
      desired: desired('v1', null, 'blue'),
      observed: observed({ releases: [release('v1')], colors: { blue: soon, green: absent('green') } }),
      context,
    });
    expect(backoff.actions).to.deep.equal([]);
    expect(backoff.colors.blue.message).to.match(/next restart in 3s/);
  });

  it('routes traffic to the active color once it is Ready, with the other as preview', () => {
    const p = plan({
      desired: desired('v1', 'v2', 'blue'),
      observed: observed({
        releases: [release('v1'), release('v2')],
        colors: { blue: running('blue', 'v1'), green: running('green', 'v2') },
      }),
      context,
    });
    expect(kinds(p)).to.deep.equal(['route:blue/green']);
    expect(p.colors.blue.phase).to.equal('Ready');
  });

  it('waits with traffic where it is while the new active color is not Ready', () => {
    const starting = running('green', 'v2', {
      health: { ready: false, version: null, reason: 'connection refused' },
      wasReady: false,
      runningForMs: 1000,
    });
    const p = plan({
      desired: desired('v1', 'v2', 'green'),
      observed: observed({
        releases: [release('v1'), release('v2')],
        colors: { blue: running('blue', 'v1'), green: starting },
        routed: 'blue',
        preview: null,
      }),
      context,
    });
    expect(p.actions).to.deep.equal([]);
    expect(p.colors.green.phase).to.equal('Starting');
    expect(p.waiting).to.match(/traffic waits for green/);
  });

  it('switches to the other color when it is Ready and the old one stays warm', () => {
    const p = plan({
      desired: desired('v1', 'v2', 'green'),
      observed: observed({
        releases: [release('v1'), release('v2')],
        colors: { blue: running('blue', 'v1'), green: running('green', 'v2') },
        routed: 'blue',
        preview: 'green',
      }),
      context,
    });
    expect(kinds(p)).to.deep.equal(['route:green/blue']);
  });

  it('is a no-op when everything converged', () => {
    const p = plan({
      desired: desired('v1', 'v2', 'blue'),
      observed: observed({
        releases: [release('v1'), release('v2')],
        colors: { blue: running('blue', 'v1'), green: running('green', 'v2') },
        routed: 'blue',
        preview: 'green',
      }),
      context,
    });
    expect(p.actions).to.deep.equal([]);
    expect(p.waiting).to.equal(null);
  });

  it('stops a color whose tag was removed, after traffic left it', () => {
    const p = plan({
      desired: desired('v1', null, 'blue'),
      observed: observed({
        releases: [release('v1')],
        colors: { blue: running('blue', 'v1'), green: running('green', 'v2') },
        routed: 'blue',
        preview: 'green',
      }),
      context,
    });
    expect(kinds(p)).to.deep.equal(['route:blue/null', 'stop:green']);
  });

  it('keeps a color without a tag running while it still carries traffic', () => {
    const starting = running('green', 'v2', {
      health: { ready: false, version: null, reason: 'refused' },
      wasReady: false,
      runningForMs: 100,
    });
    const p = plan({
      desired: desired(null, 'v2', 'green'),
      observed: observed({
        releases: [release('v2')],
        colors: { blue: running('blue', 'v1'), green: starting },
        routed: 'blue',
      }),
      context,
    });
    expect(kinds(p)).to.deep.equal([]);
    expect(p.colors.blue.phase).to.equal('Degraded');
  });

  it('marks a color that never became Ready in time as Failed and restarts it', () => {
    const slow = running('blue', 'v1', {
      health: { ready: false, version: null, reason: 'readiness timed out' },
      wasReady: false,
      runningForMs: 61_000,
    });
    const p = plan({
      desired: desired('v1', null, 'blue'),
      observed: observed({ releases: [release('v1')], colors: { blue: slow, green: absent('green') } }),
      context,
    });
    expect(kinds(p)).to.deep.equal(['restart:blue']);
    expect(p.colors.blue.phase).to.equal('Failed');
  });

  it('reports Degraded below the failure threshold and restarts at it', () => {
    const flaky = (n: number): ColorObservation =>
      running('blue', 'v1', { health: { ready: false, version: null, reason: 'timeout' }, consecutiveFailures: n });
    const below = plan({
      desired: desired('v1', null, 'blue'),
      observed: observed({
        releases: [release('v1')],
        colors: { blue: flaky(2), green: absent('green') },
        routed: 'blue',
      }),
      context,
    });
    expect(below.actions).to.deep.equal([]);
    expect(below.colors.blue.phase).to.equal('Degraded');
    const at = plan({
      desired: desired('v1', null, 'blue'),
      observed: observed({
        releases: [release('v1')],
        colors: { blue: flaky(3), green: absent('green') },
        routed: 'blue',
      }),
      context,
    });
    expect(kinds(at)).to.deep.equal(['restart:blue']);
  });

  it('routes nothing when no color is desired active', () => {
    const p = plan({
      desired: desired('v1', null, null),
      observed: observed({
        releases: [release('v1')],
        colors: { blue: running('blue', 'v1'), green: absent('green') },
        routed: 'blue',
      }),
      context,
    });
    expect(kinds(p)).to.deep.equal(['route:null/blue']);
  });

  it('while paused changes nothing but still restores routing after a restart', () => {
    const obs = observed({
      releases: [release('v1')],
      colors: { blue: running('blue', 'v1'), green: absent('green') },
    });
    const p = plan({ desired: desired('v1', 'v2', 'blue', true), observed: obs, context });
    expect(kinds(p)).to.deep.equal(['route:blue/null']);
    expect(p.colors.green.phase).to.equal('Building');
    const routed = plan({ desired: desired('v1', 'v2', 'green', true), observed: { ...obs, routed: 'blue' }, context });
    expect(routed.actions).to.deep.equal([]);
    expect(routed.waiting).to.match(/green/);
  });

  it('orders builds and unit actions before routing and routing before stops', () => {
    const p = plan({
      desired: desired('v3', null, 'blue'),
      observed: observed({
        releases: [],
        colors: { blue: running('blue', 'v1'), green: running('green', 'v2') },
        routed: 'green',
        preview: 'blue',
      }),
      context,
    });
    expect(kinds(p)).to.deep.equal(['build:v3', 'route:green/null']);
    const q = plan({
      desired: desired('v1', null, 'blue'),
      observed: observed({
        releases: [release('v1')],
        colors: { blue: running('blue', 'v1'), green: running('green', 'v2') },
        routed: 'green',
        preview: 'blue',
      }),
      context,
    });
    expect(kinds(q)).to.deep.equal(['route:blue/null', 'stop:green']);
  });
});

describe('plan: drift', () => {
  it('reinstalls a unit file that was edited by hand', () => {
    const edited = running('blue', 'v1');
    edited.unit = { ...edited.unit, drift: 'openhack-blue.service was edited by hand' };
    const p = plan({
      desired: desired('v1', null, 'blue'),
      observed: observed({
        releases: [release('v1')],
        colors: { blue: edited, green: absent('green') },
        routed: 'blue',
      }),
      context,
    });
    expect(kinds(p)).to.deep.equal(['deploy:blue']);
    expect(p.colors.blue.message).to.contain('edited by hand');
  });

  it('rebuilds a release whose artifact is missing', () => {
    const p = plan({
      desired: desired('v1', null, 'blue'),
      observed: observed({
        releases: [release('v1')],
        missingArtifacts: new Set(['v1']),
        colors: { blue: running('blue', 'v1'), green: absent('green') },
        routed: 'blue',
      }),
      context,
    });
    expect(kinds(p)).to.deep.equal(['build:v1']);
    expect(p.colors.blue.message).to.contain('artifact of v1 is missing');
  });

  it('restarts a color whose port answers another version, at once', () => {
    const foreign = running('blue', 'v1', {
      health: { ready: false, version: '0.0.1', reason: 'version 0.0.1' },
      wasReady: false,
      runningForMs: 100,
    });
    const p = plan({
      desired: desired('v1', null, 'blue'),
      observed: observed({ releases: [release('v1')], colors: { blue: foreign, green: absent('green') } }),
      context,
    });
    expect(kinds(p)).to.deep.equal(['restart:blue']);
    expect(p.colors.blue.message).to.contain('answers version 0.0.1, want 1');
  });

  it('while paused reports drift and leaves it alone', () => {
    const edited = running('blue', 'v1');
    edited.unit = { ...edited.unit, drift: 'edited by hand' };
    const p = plan({
      desired: desired('v1', null, 'blue', true),
      observed: observed({
        releases: [release('v1')],
        colors: { blue: edited, green: absent('green') },
        routed: 'blue',
      }),
      context,
    });
    expect(p.actions).to.deep.equal([]);
    expect(p.colors.blue.message).to.contain('edited by hand');
  });
});

describe('plan: failover', () => {
  it('says Degraded, and that traffic still goes to a down active color, until the watch takes it out', () => {
    const down = running('blue', 'v1', { health: null });
    down.unit = { ...down.unit, activeState: 'activating', subState: 'auto-restart', mainPid: null };
    const p = plan({
      desired: desired('v1', 'v2', 'blue'),
      observed: observed({
        releases: [release('v1'), release('v2')],
        colors: { blue: down, green: running('green', 'v2') },
        routed: 'blue',
        preview: 'green',
      }),
      context,
    });
    expect(p.colors.blue.phase).to.equal('Degraded');
    expect(p.colors.blue.message).to.contain('public traffic still goes to blue, and to green once 3 probes');
    expect(p.colors.blue.message).to.contain('requests blue refuses are retried on green');
    expect(p.actions).to.deep.equal([]);
  });

  it('says where traffic goes once the active color is out of routing, and leaves the route alone', () => {
    const stalled = running('blue', 'v1', {
      health: { ready: false, version: null, reason: '/ping: timed out after 300ms' },
      consecutiveFailures: 3,
    });
    const p = plan({
      desired: desired('v1', 'v2', 'blue'),
      observed: observed({
        releases: [release('v1'), release('v2')],
        colors: { blue: stalled, green: running('green', 'v2') },
        routed: 'blue',
        preview: 'green',
        serving: 'green',
        outOfRouting: { blue: 'blue stalled (3 probes timed out after 300ms)', green: null },
      }),
      context,
    });
    expect(p.colors.blue.phase).to.equal('Degraded');
    expect(p.colors.blue.message).to.match(
      /^blue stalled \(3 probes timed out after 300ms\); public traffic goes to green until blue answers again/,
    );
    expect(kinds(p), 'the data plane failed over: no route, only the heal restart').to.deep.equal(['restart:blue']);
  });

  it('says traffic stays on an out active color while the other is not Ready', () => {
    const stalled = running('blue', 'v1', {
      health: { ready: false, version: null, reason: '/ping: timed out after 300ms' },
      consecutiveFailures: 3,
    });
    const p = plan({
      desired: desired('v1', null, 'blue'),
      observed: observed({
        releases: [release('v1')],
        colors: { blue: stalled, green: absent('green') },
        routed: 'blue',
        outOfRouting: { blue: 'blue stalled (3 probes timed out after 300ms)', green: null },
      }),
      context,
    });
    expect(p.colors.blue.message).to.match(
      /^blue stalled .*; green is not Ready, so public traffic still goes to blue/,
    );
  });
});

describe('plan: never restarts the color that serves traffic', () => {
  it('moves traffic before deploying a new tag on the color it leaves', () => {
    const p = plan({
      desired: desired('v3', 'v2', 'green'),
      observed: observed({
        releases: [release('v2'), release('v3')],
        colors: { blue: running('blue', 'v1'), green: running('green', 'v2') },
        routed: 'blue',
        preview: 'green',
      }),
      context,
    });
    expect(kinds(p)).to.deep.equal(['route:green/null', 'deploy:blue']);
  });

  it('holds a new tag for the serving color while the other color, which has a tag, is not Ready', () => {
    const starting = running('green', 'v2', {
      health: { ready: false, version: null, reason: 'refused' },
      wasReady: false,
      runningForMs: 500,
    });
    const p = plan({
      desired: desired('v3', 'v2', 'green'),
      observed: observed({
        releases: [release('v2'), release('v3')],
        colors: { blue: running('blue', 'v1'), green: starting },
        routed: 'blue',
      }),
      context,
    });
    expect(p.actions).to.deep.equal([]);
    expect(p.colors.blue.message).to.match(/v3 waits: blue serves all traffic and green is not Ready/);
  });

  it('deploys in place when no other color could take over', () => {
    const p = plan({
      desired: desired('v3', null, 'blue'),
      observed: observed({
        releases: [release('v3')],
        colors: { blue: running('blue', 'v1'), green: absent('green') },
        routed: 'blue',
      }),
      context,
    });
    expect(kinds(p)).to.deep.equal(['deploy:blue']);
  });
});
