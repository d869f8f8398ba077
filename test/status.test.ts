// The status function (reconciler/status.ts) as tables: the status before, a change and a time give
// the status after. Conditions keep their lastTransitionTime until their status flips; a failed pass
// moves lastAttemptedRevision but not observedRevision; reports from outside the loop touch only
// their own condition.
import { expect } from 'chai';
import type { Condition, ReconcilerStatus } from '../common/status.js';
import type { Color, DesiredDoc, Phase } from '../common/types.js';
import type { ActionOutcome } from '../reconciler/act.js';
import { PhaseEvents } from '../reconciler/phase-events.js';
import { initialStatus, nextStatus, type PassFacts, type StatusChange } from '../reconciler/status.js';
import type { Action, ColorObservation, Plan } from '../reconciler/types.js';
import { sampleSpec } from './harness/records.js';

const T0 = '2026-11-27T12:00:00.000Z';
const T1 = '2026-11-27T12:00:05.000Z';
const T2 = '2026-11-27T12:00:10.000Z';

const DESIRED: DesiredDoc = {
  active: 'blue',
  colors: { blue: { tag: 'v26.11.27.0' }, green: { tag: null } },
  paused: false,
};
const ROUTE: Action = { kind: 'route', active: 'blue', preview: null, reason: 'traffic none -> blue' };
const STOP: Action = { kind: 'stop', color: 'green', reason: 'no tag desired' };

function observation(color: Color): ColorObservation {
  return {
    unit: {
      color,
      loadState: color === 'blue' ? 'loaded' : 'not-found',
      activeState: color === 'blue' ? 'active' : 'inactive',
      subState: color === 'blue' ? 'running' : 'dead',
      mainPid: color === 'blue' ? 4242 : null,
      nRestarts: 0,
      installed: color === 'blue' ? sampleSpec('blue') : null,
      drift: null,
    },
    health: color === 'blue' ? { ready: true, version: '26.11.27.0', reason: 'ok' } : null,
    consecutiveFailures: 0,
    wasReady: color === 'blue',
    runningForMs: 0,
    healRestarts: 0,
    sinceHealRestartMs: null,
  };
}

const converged: Plan = {
  actions: [],
  colors: { blue: { phase: 'Ready', message: 'serving v26.11.27.0' }, green: { phase: 'Empty', message: 'no tag' } },
  waiting: null,
};

function facts(overrides: Partial<PassFacts> = {}): PassFacts {
  return {
    revision: 3,
    desired: DESIRED,
    observed: {
      colors: { blue: observation('blue'), green: observation('green') },
      routed: 'blue',
      preview: null,
      serving: 'blue',
      outOfRouting: { blue: null, green: null },
      releases: {},
      jobs: new Set(),
      smokes: new Set(),
      missingArtifacts: new Set(),
    },
    plan: converged,
    outcomes: [],
    routed: { active: 'blue', preview: null, serving: 'blue' },
    ports: { blue: 8001, green: 8002 },
    builds: [],
    durationMs: 12,
    ...overrides,
  };
}

const condition = (status: ReconcilerStatus, type: Condition['type']): Condition | undefined =>
  status.conditions.find((c) => c.type === type);

/** The status after each change in turn, the i-th at times[i]. */
function after(changes: StatusChange[], times: string[] = changes.map(() => T0)): ReconcilerStatus {
  return changes.reduce((status, change, i) => nextStatus(status, change, times[i]!), initialStatus());
}

describe('status: the next status from the last one and what happened', () => {
  it('records the revision a pass attempts and nothing else', () => {
    expect(after([{ kind: 'attempted', revision: 7 }])).to.deep.equal({ ...initialStatus(), lastAttemptedRevision: 7 });
  });

  it('reports a converged pass: observed revision, colors with their units, Reconciling and Ready True', () => {
    const status = after(
      [
        { kind: 'attempted', revision: 3 },
        { kind: 'passed', facts: facts() },
      ],
      [T0, T1],
    );
    expect(status).to.deep.include({
      observedRevision: 3,
      lastAttemptedRevision: 3,
      active: 'blue',
      preview: null,
      paused: false,
      waiting: null,
      lastReconcileAt: T1,
      lastPass: { durationMs: 12, actions: [] },
      builds: [],
    });
    expect(status.colors!.blue).to.deep.include({
      phase: 'Ready',
      desiredTag: 'v26.11.27.0',
      runningTag: 'v26.11.27.0',
      port: 8001,
    });
    expect(status.colors!.blue.unit).to.deep.equal({
      loadState: 'loaded',
      activeState: 'active',
      subState: 'running',
      mainPid: 4242,
      nRestarts: 0,
    });
    expect(status.conditions).to.deep.equal([
      { type: 'Reconciling', status: 'True', reason: 'PassSucceeded', message: '0 action(s)', lastTransitionTime: T1 },
      {
        type: 'Ready',
        status: 'True',
        reason: 'Converged',
        message: 'the host matches the desired state',
        lastTransitionTime: T1,
      },
    ]);
  });

  const outcomeTable: Array<[string, ActionOutcome[], Plan, boolean, Omit<Condition, 'lastTransitionTime'>[]]> = [
    [
      'an action failed and one after it was not run',
      [
        { action: ROUTE, result: 'failed', error: 'blue is not Ready any more' },
        { action: STOP, result: 'skipped', why: 'route failed' },
      ],
      { ...converged, actions: [ROUTE, STOP] },
      false,
      [
        {
          type: 'Reconciling',
          status: 'False',
          reason: 'ActionFailed',
          message: 'route: blue is not Ready any more; 1 later action(s) not run',
        },
        {
          type: 'Ready',
          status: 'False',
          reason: 'Progressing',
          message: 'route: traffic none -> blue; stop: no tag desired',
        },
      ],
    ],
    [
      'the desired state is paused',
      [],
      { ...converged, waiting: 'paused: no changes are made' },
      true,
      [
        { type: 'Reconciling', status: 'True', reason: 'PassSucceeded', message: '0 action(s)' },
        { type: 'Ready', status: 'False', reason: 'Paused', message: 'paused: no changes are made' },
      ],
    ],
    [
      'its actions were done and traffic waits for green',
      [{ action: ROUTE, result: 'done' }],
      { ...converged, actions: [ROUTE], waiting: 'traffic waits for green to be Ready' },
      false,
      [
        { type: 'Reconciling', status: 'True', reason: 'PassSucceeded', message: '1 action(s)' },
        { type: 'Ready', status: 'False', reason: 'Progressing', message: 'traffic waits for green to be Ready' },
      ],
    ],
  ];
  for (const [what, outcomes, plan, paused, expected] of outcomeTable) {
    it(`reports a pass where ${what}`, () => {
      const desired = { ...DESIRED, paused };
      const status = after([{ kind: 'passed', facts: facts({ outcomes, plan, desired }) }]);
      expect(status.conditions.map(({ lastTransitionTime: _, ...c }) => c)).to.deep.equal(expected);
      expect(status.paused).to.equal(paused);
      expect(status.waiting).to.equal(plan.waiting);
      expect(status.lastPass!.actions.map((a) => a.result)).to.deep.equal(outcomes.map((o) => o.result));
    });
  }

  it('reports a failed pass: PassFailed, the attempted revision ahead of the observed one, the rest kept', () => {
    const good = after(
      [
        { kind: 'attempted', revision: 3 },
        { kind: 'passed', facts: facts() },
      ],
      [T0, T0],
    );
    const failed = [
      { kind: 'attempted', revision: 4 },
      { kind: 'failed', error: 'disk I/O error', durationMs: 40 },
    ].reduce((s, change) => nextStatus(s, change as StatusChange, T1), good);
    expect(failed).to.deep.include({
      observedRevision: 3,
      lastAttemptedRevision: 4,
      lastReconcileAt: T1,
      lastPass: { durationMs: 40, actions: [] },
    });
    expect(condition(failed, 'Reconciling')).to.deep.equal({
      type: 'Reconciling',
      status: 'False',
      reason: 'PassFailed',
      message: 'disk I/O error',
      lastTransitionTime: T1,
    });
    expect(failed.colors, 'what the last completed pass saw stays').to.deep.equal(good.colors);
    expect(condition(failed, 'Ready')).to.deep.equal(condition(good, 'Ready'));
  });

  it('keeps a condition lastTransitionTime while its status holds, and moves it when it flips', () => {
    const passed: StatusChange = { kind: 'passed', facts: facts() };
    const failed: StatusChange = { kind: 'failed', error: 'boom', durationMs: 1 };
    const times = (changes: StatusChange[], at: string[]): Array<string | undefined> => [
      condition(after(changes, at), 'Reconciling')?.lastTransitionTime,
      condition(after(changes, at), 'Ready')?.lastTransitionTime,
    ];
    expect(times([passed, passed], [T0, T1])).to.deep.equal([T0, T0]);
    expect(times([passed, failed], [T0, T1])).to.deep.equal([T1, T0]);
    expect(times([passed, failed, passed], [T0, T1, T2])).to.deep.equal([T2, T0]);
  });

  const ARCHIVE_FAILING: Omit<Condition, 'lastTransitionTime'> = {
    type: 'Archived',
    status: 'False',
    reason: 'UploadFailing',
    message: 'v26.11.27.1/build.log: connect ECONNREFUSED',
  };
  const reports: Array<[string, StatusChange, Omit<Condition, 'lastTransitionTime'>]> = [
    [
      'a valid desired file',
      { kind: 'source', source: 'desired.file', error: null },
      { type: 'DesiredSourceValid', status: 'True', reason: 'Valid', message: 'desired.file: valid' },
    ],
    [
      'an invalid desired file',
      { kind: 'source', source: 'desired.file', error: 'line 2: active must be blue or green' },
      {
        type: 'DesiredSourceValid',
        status: 'False',
        reason: 'Invalid',
        message: 'desired.file: line 2: active must be blue or green',
      },
    ],
    [
      'a healthy store',
      { kind: 'store', health: { state: 'ok', detail: 'integrity check passed' } },
      { type: 'StoreHealthy', status: 'True', reason: 'Ok', message: 'integrity check passed' },
    ],
    [
      'a damaged store',
      { kind: 'store', health: { state: 'damaged', detail: 'page 7 is corrupt', fix: 'hyperctl backup restore' } },
      {
        type: 'StoreHealthy',
        status: 'False',
        reason: 'Damaged',
        message: 'page 7 is corrupt: writes are refused; fix: hyperctl backup restore',
      },
    ],
    ["the log archive's failing uploads", { kind: 'condition', condition: ARCHIVE_FAILING }, ARCHIVE_FAILING],
  ];
  for (const [what, change, expected] of reports) {
    it(`reports ${what} in its own condition and changes nothing else`, () => {
      const before = after([{ kind: 'passed', facts: facts() }], [T0]);
      const status = nextStatus(before, change, T1);
      expect(condition(status, expected.type)).to.deep.equal({ ...expected, lastTransitionTime: T1 });
      expect({ ...status, conditions: before.conditions }).to.deep.equal(before);
      expect(status.conditions.filter((c) => c.type !== expected.type)).to.deep.equal(before.conditions);
    });
  }

  it('shows a unit state a newer systemd named, in its own word', () => {
    const blue = observation('blue');
    blue.unit = { ...blue.unit, activeState: 'unknown', unrecognized: { activeState: 'hibernating' } };
    const observed = { ...facts().observed, colors: { blue, green: observation('green') } };
    const status = after([{ kind: 'passed', facts: facts({ observed }) }]);
    expect(status.colors!.blue.unit).to.deep.include({
      activeState: 'unknown',
      unrecognized: { activeState: 'hibernating' },
    });
  });
});

describe('phase events: one per change of phase', () => {
  const report = (blue: Phase, green: Phase) =>
    after([
      {
        kind: 'passed',
        facts: facts({
          plan: {
            ...converged,
            colors: {
              blue: { phase: blue, message: `blue says ${blue}` },
              green: { phase: green, message: `green says ${green}` },
            },
          },
        }),
      },
    ]).colors;

  it('announces each color once, then only the colors whose phase changed, whatever the messages', () => {
    const phases = new PhaseEvents();
    const said = (blue: Phase, green: Phase): string[] =>
      phases.changes(report(blue, green)).map((e) => `${e.reason} ${e.color}: ${e.message}`);
    expect(said('Starting', 'Empty')).to.deep.equal([
      'PhaseStarting blue: blue is Starting: blue says Starting',
      'PhaseEmpty green: green is Empty: green says Empty',
    ]);
    expect(said('Starting', 'Empty'), 'nothing changed').to.deep.equal([]);
    expect(said('Ready', 'Empty')).to.deep.equal(['PhaseReady blue: blue is Ready: blue says Ready']);
    expect(said('Degraded', 'Building')).to.deep.equal([
      'PhaseDegraded blue: blue is Degraded: blue says Degraded',
      'PhaseBuilding green: green is Building: green says Building',
    ]);
    expect(said('Ready', 'Building')).to.deep.equal(['PhaseReady blue: blue is Ready: blue says Ready']);
  });

  it('stays quiet while a phase holds and only its message moves (a countdown, a probe reason)', () => {
    const phases = new PhaseEvents();
    const colors = report('Degraded', 'Empty')!;
    expect(phases.changes(colors)).to.have.length(2);
    for (const left of [30, 29, 28]) {
      const counting = { ...colors, blue: { ...colors.blue, message: `next restart in ${left}s` } };
      expect(phases.changes(counting)).to.deep.equal([]);
    }
  });

  it('says nothing before a pass reported any color', () => {
    expect(new PhaseEvents().changes(null)).to.deep.equal([]);
  });
});
