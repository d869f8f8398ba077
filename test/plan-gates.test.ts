// The smoke gate in the plan and in the transitions: pure functions, so every case is one call.
import { expect } from 'chai';
import type { ColorReport } from '../common/status.js';
import type { Color, DesiredDoc, ReleaseRecord, SmokeResult } from '../common/types.js';
import { GateFailedError, NotReadyError, NotRunningError, SmokeRunningError } from '../desired-state/refusals.js';
import { rollback } from '../desired-state/rollback.js';
import { smokeTarget, switchTo, type ColorsFacts } from '../desired-state/transitions.js';
import { ledgerStats } from '../reconciler/ledger-stats.js';
import { plan } from '../reconciler/plan.js';
import type { Observed, PlanContext } from '../reconciler/types.js';
import { running as ready, spec } from './harness/plan-fixtures.js';

const V1 = 'v26.11.27.0';
const V2 = 'v26.11.27.1';

const context: PlanContext = {
  specFor: (color, release) => spec(color, release.tag),
  failureThreshold: 3,
  startTimeoutMs: 60_000,
  healBackoffMs: () => 1000,
  smokeGate: true,
};

function smokeRun(passed: boolean, color: Color = 'green'): SmokeResult {
  return {
    exitCode: passed ? 0 : 1,
    signal: null,
    timedOut: false,
    durationMs: 1200,
    logPath: '/var/openhack/logs/x/smoke.log',
    startedAt: '2026-11-27T10:00:00.000Z',
    finishedAt: '2026-11-27T10:00:01.200Z',
    color,
    passed,
    summary: `SMOKE exited with code ${passed ? 0 : 1}`,
  };
}

function release(tag: string, smoke: SmokeResult | null): ReleaseRecord {
  return {
    tag,
    sha: 'abc',
    version: tag.slice(1),
    author: 'dev',
    status: 'succeeded',
    error: null,
    build: null,
    test: null,
    artifactPath: `/var/openhack/artifacts/${tag}/${tag.slice(1)}`,
    createdAt: '',
    updatedAt: '',
    smoke,
  };
}

/** Blue serves V1 (its smoke passed); green runs V2 with the given smoke result; traffic wants green. */
function input(green: SmokeResult | null, o: { routed?: Color | null; smokes?: string[]; gate?: boolean } = {}) {
  const desired: DesiredDoc = { active: 'green', colors: { blue: { tag: V1 }, green: { tag: V2 } }, paused: false };
  const observed: Observed = {
    colors: { blue: ready('blue', V1), green: ready('green', V2) },
    routed: o.routed === undefined ? 'blue' : o.routed,
    preview: null,
    serving: o.routed === undefined ? 'blue' : o.routed,
    outOfRouting: { blue: null, green: null },
    releases: { [V1]: release(V1, smokeRun(true, 'blue')), [V2]: release(V2, green) },
    jobs: new Set(),
    smokes: new Set(o.smokes ?? []),
    missingArtifacts: new Set(),
  };
  return { desired, observed, context: { ...context, smokeGate: o.gate ?? true } };
}

const routeOf = (p: ReturnType<typeof plan>): string | null => {
  const route = p.actions.find((a) => a.kind === 'route');
  return route?.kind === 'route' ? `${route.active}/${route.preview}` : null;
};

describe('plan: the smoke gate', () => {
  it('queues a smoke run for a Ready color with no result (level-triggered: a restart that lost one runs it)', () => {
    const p = plan(input(null));
    expect(p.actions.filter((a) => a.kind === 'smoke')).to.deep.equal([
      { kind: 'smoke', color: 'green', tag: V2, reason: `green is Ready at ${V2}, which has no smoke result` },
    ]);
    expect(p.colors.green).to.deep.include({ phase: 'Verifying' });
    expect(p.colors.green.smoke).to.include({ state: 'queued' });
    expect(routeOf(p), 'traffic stays on blue, green previews').to.equal('blue/green');
    expect(p.waiting).to.match(/^traffic waits for green to pass its gates: smoke test of v26\.11\.27\.1 queued/);
  });

  it('queues nothing while a run is under way, and shows it Verifying', () => {
    const p = plan(input(null, { routed: 'blue', smokes: [V2] }));
    expect(p.actions.filter((a) => a.kind === 'smoke')).to.deep.equal([]);
    expect(p.colors.green.phase).to.equal('Verifying');
    expect(p.colors.green.smoke).to.deep.equal({
      state: 'running',
      message: `smoke test of ${V2} runs against green`,
      logCommand: `hyper-cli logs ${V2} --smoke`,
    });
  });

  it('keeps traffic off a color whose smoke failed, Ready but not promotable, naming the log', () => {
    const p = plan(input(smokeRun(false)));
    expect(p.actions.map((a) => a.kind)).to.not.include('smoke');
    expect(p.colors.green.phase).to.equal('Ready');
    expect(p.colors.green.smoke).to.include({ state: 'failed', logCommand: `hyper-cli logs ${V2} --smoke` });
    expect(p.waiting).to.contain('smoke failed: SMOKE exited with code 1');
    expect(routeOf(p)).to.equal('blue/green');
  });

  it('moves traffic to a color whose smoke passed', () => {
    const p = plan(input(smokeRun(true)));
    expect(routeOf(p)).to.equal('green/blue');
    expect(p.colors.green).to.deep.include({ phase: 'Ready', message: `serving ${V2}; smoke passed` });
    expect(p.waiting).to.equal(null);
  });

  it('with the gate off, a Ready color is promotable at once and has no smoke report', () => {
    const p = plan(input(null, { gate: false }));
    expect(routeOf(p)).to.equal('green/blue');
    expect(p.colors.green.smoke).to.equal(undefined);
  });

  it('never takes traffic away from the color that has it: a run again, or a failed one, keeps it there', () => {
    expect(routeOf(plan(input(null, { routed: 'green', smokes: [V2] })))).to.equal('green/blue');
    expect(routeOf(plan(input(smokeRun(false), { routed: 'green' })))).to.equal('green/blue');
  });

  it('after a restart (nothing routed) gives traffic back at once to a color whose gate merely runs', () => {
    expect(routeOf(plan(input(null, { routed: null })))).to.equal('green/blue');
  });

  it('after a restart, with the desired color failed, restores the other one that passed', () => {
    const p = plan(input(smokeRun(false), { routed: null }));
    expect(routeOf(p)).to.equal('blue/green');
    expect(p.waiting).to.match(/traffic waits for green to pass its gates/);
  });
});

function facts(green: Partial<ColorReport>): ColorsFacts {
  const base = (color: Color, tag: string): ColorReport => ({
    phase: 'Ready',
    message: `serving ${tag}`,
    desiredTag: tag,
    runningTag: tag,
    port: 1,
    unit: { loadState: 'loaded', activeState: 'active', subState: 'running', mainPid: 1, nRestarts: 0 },
    health: null,
    smoke: { state: 'passed', message: 'smoke passed', logCommand: `hyper-cli logs ${tag} --smoke` },
  });
  return { blue: base('blue', V1), green: { ...base('green', V2), ...green } };
}

describe('transitions: the smoke gate', () => {
  const doc: DesiredDoc = { active: 'blue', colors: { blue: { tag: V1 }, green: { tag: V2 } }, paused: false };
  const failed = { state: 'failed' as const, message: 'smoke failed: SMOKE exited with code 1', logCommand: 'L' };

  it('refuses a switch to a color whose smoke failed: gate_failed naming the gate and the log command', () => {
    const err = (() => {
      try {
        switchTo(doc, 'green', facts({ smoke: failed }));
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).to.be.instanceOf(GateFailedError);
    const refused = err as GateFailedError;
    expect(refused.code).to.equal('gate_failed');
    expect(refused.details).to.deep.equal({ color: 'green', gate: 'smoke', tag: V2, logCommand: 'L' });
    expect(refused.message).to.equal(
      'green is not promotable: smoke failed: SMOKE exited with code 1; traffic stays on blue',
    );
  });

  it('refuses a switch while the gate runs (Verifying is not Ready), and lets a passed one through', () => {
    const running = { state: 'running' as const, message: 'runs', logCommand: 'L' };
    expect(() => switchTo(doc, 'green', facts({ phase: 'Verifying', smoke: running }))).to.throw(NotReadyError);
    expect(switchTo(doc, 'green', facts({})).doc.active).to.equal('green');
  });

  it('refuses a rollback to a color whose smoke failed since', () => {
    const now: DesiredDoc = { ...doc, active: 'green' };
    const entry = (id: number, color: Color, tag: string, endedAt: string | null) => ({
      id,
      color,
      tag,
      version: null,
      revision: id,
      switchedBy: 'ana',
      source: 'api',
      startedAt: '2026-11-27T10:00:00.000Z',
      endedAt,
      endReason: null,
      gates: [],
      verdict: null,
    });
    const ledger = [entry(2, 'green', V2, null), entry(1, 'blue', V1, '2026-11-27T10:05:00.000Z')];
    const colors = facts({});
    colors!.blue.smoke = failed;
    expect(() => rollback(now, { ledger, colors })).to.throw(GateFailedError);
  });

  it('smokes the Ready color that runs a tag again; refuses while one runs, or when none runs it', () => {
    expect(smokeTarget(V2, facts({}))).to.equal('green');
    const running = { state: 'running' as const, message: 'runs', logCommand: 'L' };
    expect(() => smokeTarget(V2, facts({ phase: 'Verifying', smoke: running }))).to.throw(SmokeRunningError);
    expect(() => smokeTarget('v26.11.27.9', facts({}))).to.throw(NotRunningError, /stage it first/);
    expect(() => smokeTarget(V2, facts({ phase: 'Degraded' }))).to.throw(NotRunningError, /green is Degraded/);
  });
});

describe('ledger stats: change-failure rate and median time to restore', () => {
  const entry = (minutes: number | null, failed: 'rolled_back' | 'gate' | null) => ({
    id: 1,
    color: 'blue' as const,
    tag: V1,
    version: null,
    revision: 1,
    switchedBy: 'ana',
    source: 'api',
    startedAt: '2026-11-27T10:00:00.000Z',
    endedAt:
      minutes === null ? null : new Date(Date.parse('2026-11-27T10:00:00.000Z') + minutes * 60_000).toISOString(),
    endReason: failed === 'rolled_back' ? ('rolled_back' as const) : minutes === null ? null : ('switched' as const),
    gates:
      failed === 'gate'
        ? [{ name: 'verify', result: 'failed' as const, verdict: 'p99 3 s > 2 s', measured: {} }]
        : [{ name: 'smoke', result: 'passed' as const, verdict: 'ok', measured: {} }],
    verdict: null,
  });

  it('counts rolled-back and gate-failed deployments, and takes the median of how long the failed ones served', () => {
    const stats = ledgerStats([
      entry(null, null),
      entry(2, 'rolled_back'),
      entry(10, 'gate'),
      entry(5, 'rolled_back'),
      entry(30, null),
    ]);
    expect(stats).to.deep.equal({ deployments: 5, failed: 3, changeFailureRate: 0.6, medianTimeToRestoreMs: 300_000 });
    expect(ledgerStats([entry(2, 'rolled_back'), entry(4, 'rolled_back')]).medianTimeToRestoreMs).to.equal(180_000);
  });

  it('says nothing it cannot know: no deployments, no failure that ended', () => {
    expect(ledgerStats([])).to.deep.equal({
      deployments: 0,
      failed: 0,
      changeFailureRate: null,
      medianTimeToRestoreMs: null,
    });
    expect(ledgerStats([entry(null, 'gate'), entry(3, null)])).to.deep.include({
      changeFailureRate: 0.5,
      medianTimeToRestoreMs: null,
    });
  });
});
