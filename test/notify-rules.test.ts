// The trigger table (which events become which notifications) and the no-spam rules, as pure
// functions on an injected clock: no store, no network, no waiting.
import { expect } from 'chai';
import { NOTIFICATION_KINDS, type NotificationKind, type NotificationRecord } from '../common/notifications.js';
import type { EventRecord } from '../common/types.js';
import type { Notice } from '../notify/notice.js';
import { decide, type TargetRules, type Told } from '../notify/rules.js';
import { noticeOf, TRIGGERS } from '../notify/triggers.js';
import { failedStep } from '../reconciler/pipeline/failed-step.js';

const T0 = Date.parse('2026-11-27T10:00:00.000Z');
const MIN = 60_000;

function event(reason: string, data: Record<string, unknown> | null = null, color: EventRecord['color'] = null) {
  return { id: 42, time: new Date(T0).toISOString(), reason, message: `${reason} happened`, color, actor: 'r', data };
}

/** A message as the outbox holds it, for what a target was told. */
function told(kind: NotificationKind, role: Notice['role'], minutesAgo: number, state: NotificationRecord['state']) {
  return {
    id: minutesAgo + 1,
    kind,
    role,
    state,
    createdAt: new Date(T0 - minutesAgo * MIN).toISOString(),
    message: { summary: `${kind} earlier`, tag: 'v26.11.27.2' } as NotificationRecord['message'],
  };
}

const target = (...on: NotificationKind[]): TargetRules => ({ on, quietPeriodMs: 10 * MIN });
const nothingTold: Told = { last: null, lastProblem: null };

describe('notify: the trigger table', () => {
  it('maps a failed canary step (its desired revision back) to rolled_back, with the tag', () => {
    const data = { from: 'blue', to: 'green', tag: 'v2', verdict: 'error rate 40% (4 of 10) > 1%', revision: 7 };
    expect(noticeOf(event('CanaryRolledBack', data, 'blue'))).to.include({
      kind: 'rolled_back',
      tag: 'v2',
      color: 'blue',
      once: 'revision-7',
    });
  });

  it('maps a failed TEST to test_failed and any other failed step to build_failed, one per tag, with its log', () => {
    const test = noticeOf(event('BuildFailed', { tag: 'v1', status: 'failed', step: 'test' }))!;
    expect(test).to.include({ kind: 'test_failed', role: 'problem', subject: 'releases', quiet: false });
    expect(test).to.include({ once: 'tag-v1', tag: 'v1', step: 'test', log: 'test' });
    const build = noticeOf(event('BuildFailed', { tag: 'v1', step: 'build' }))!;
    expect(build).to.include({ kind: 'build_failed', log: 'build' });
    const checkout = noticeOf(event('BuildFailed', { tag: 'v1', status: 'rejected', step: 'checkout' }))!;
    expect(checkout).to.include({ kind: 'build_failed', log: null, step: 'checkout' });
  });

  it('maps a passing release to release_ready, the answer to an earlier failure, quoting its test log', () => {
    const ready = noticeOf(event('BuildSucceeded', { tag: 'v2', status: 'succeeded', step: null }))!;
    expect(ready).to.include({
      kind: 'release_ready',
      role: 'answer',
      subject: 'releases',
      once: 'tag-v2',
      log: 'test',
    });
  });

  it('maps a color going Degraded or Failed to a quiet degraded, and Ready to its recovered', () => {
    for (const reason of ['PhaseDegraded', 'PhaseFailed']) {
      const degraded = noticeOf(event(reason, { tag: 'v1', phase: 'Degraded' }, 'blue'))!;
      expect(degraded).to.include({ kind: 'degraded', role: 'problem', subject: 'color:blue', quiet: true });
      expect(degraded).to.include({ color: 'blue', tag: 'v1', log: 'slot', once: 'event-42' });
    }
    expect(noticeOf(event('PhaseReady', { tag: 'v1' }, 'green'))).to.include({
      kind: 'recovered',
      role: 'answer',
      subject: 'color:green',
    });
    expect(noticeOf(event('PhaseStarting', {}, 'green'))).to.equal(null);
  });

  it('maps a promotion to promoted once per ledger entry, and only corrections of drift to drift_corrected', () => {
    const promoted = noticeOf(event('Promoted', { tag: 'v2', deployment: 7 }, 'green'))!;
    expect(promoted).to.include({ kind: 'promoted', role: 'news', once: 'deployment-7', color: 'green' });
    expect(noticeOf(event('Started', null, 'blue'))).to.equal(null);
    expect(noticeOf(event('Deployed', { tag: 'v2' }, 'blue'))).to.equal(null);
    const drift = noticeOf(event('Started', { tag: 'v2', drift: 'blue was inactive/dead' }, 'blue'))!;
    expect(drift).to.include({ kind: 'drift_corrected', tag: 'v2', color: 'blue' });
  });

  it('maps low disk space to disk_low and its end to recovered', () => {
    expect(noticeOf(event('DiskLow', { free: 1 }))).to.include({ kind: 'disk_low', subject: 'disk', quiet: true });
    expect(noticeOf(event('DiskOk', { free: 9 }))).to.include({ kind: 'recovered', subject: 'disk', role: 'answer' });
  });

  it("has no row for the notifier's own events, unknown reasons or names of Object's prototype", () => {
    for (const reason of [
      'NotificationDelivered',
      'NotificationFailed',
      'NotificationRetrying',
      'NotificationTested',
    ]) {
      expect(noticeOf(event(reason, { tag: 'v1', step: 'test' })), reason).to.equal(null);
    }
    for (const reason of ['Routed', 'LoggedIn', 'constructor', '__proto__', 'toString']) {
      expect(noticeOf(event(reason)), reason).to.equal(null);
    }
  });

  it('produces only kinds a target can subscribe to', () => {
    const samples: Record<string, Record<string, unknown>> = { BuildFailed: { step: 'test' }, Started: { drift: 'x' } };
    for (const reason of Object.keys(TRIGGERS)) {
      const found = noticeOf(event(reason, samples[reason] ?? { drift: 'x' }, 'blue'));
      expect(found, reason).to.not.equal(null);
      expect(NOTIFICATION_KINDS, reason).to.include(found!.kind);
    }
  });

  it("reads the failed step from the release record's facts", () => {
    const base = { version: null, build: null, test: null, artifactPath: null };
    const step = {
      exitCode: 1,
      signal: null,
      timedOut: false,
      durationMs: 1,
      logPath: '/l',
      startedAt: '',
      finishedAt: '',
    };
    expect(failedStep({ ...base, status: 'succeeded' })).to.equal(null);
    expect(failedStep({ ...base, status: 'rejected' })).to.equal('checkout');
    expect(failedStep({ ...base, status: 'failed', version: '26.11.27.0' })).to.equal('build');
    expect(failedStep({ ...base, status: 'failed', version: '26.11.27.0', build: step })).to.equal('build');
    expect(failedStep({ ...base, status: 'failed', version: '1', build: step, artifactPath: '/a/1' })).to.equal('test');
    expect(failedStep({ ...base, status: 'failed', build: step, test: step, artifactPath: '/a/1' })).to.equal('test');
  });
});

describe('notify: the no-spam rules (injected clock)', () => {
  const degraded = noticeOf(event('PhaseDegraded', { tag: 'v1' }, 'blue'))!;
  const recovered = noticeOf(event('PhaseReady', { tag: 'v1' }, 'blue'))!;
  const failed = noticeOf(event('BuildFailed', { tag: 'v2', step: 'test' }))!;
  const ready = noticeOf(event('BuildSucceeded', { tag: 'v3' }))!;
  const promoted = noticeOf(event('Promoted', { tag: 'v3', deployment: 1 }, 'green'))!;

  it('sends news and per-tag problems to the targets that asked for them, and to no other', () => {
    expect(decide(promoted, target('promoted'), nothingTold, T0)).to.include({ write: true, kind: 'promoted' });
    expect(decide(promoted, target('degraded'), nothingTold, T0)).to.include({ write: false });
    const again: Told = { last: told('test_failed', 'problem', 1, 'delivered'), lastProblem: null };
    // Another tag failing a minute later is other news: the outbox key (kind and tag) keeps one per tag.
    expect(decide(failed, target('test_failed'), again, T0)).to.include({ write: true, kind: 'test_failed' });
  });

  it('sends the first degraded, collapses repeats within the quiet period, and says it again after it', () => {
    expect(decide(degraded, target('degraded'), nothingTold, T0)).to.include({ write: true, state: 'pending' });
    const recent = told('degraded', 'problem', 3, 'delivered');
    const within = decide(degraded, target('degraded'), { last: recent, lastProblem: recent }, T0);
    expect(within).to.include({ write: false });
    expect(within.write === false && within.why).to.match(/collapsed into message 4/);
    const old = told('degraded', 'problem', 11, 'delivered');
    expect(decide(degraded, target('degraded'), { last: old, lastProblem: old }, T0)).to.include({ write: true });
    const held = told('degraded', 'problem', 1, 'held');
    expect(decide(degraded, target('degraded'), { last: held, lastProblem: held }, T0)).to.include({ write: false });
  });

  it('holds a degraded that comes back within the quiet period after a recovered, until the period ends', () => {
    const problem = told('degraded', 'problem', 4, 'delivered');
    const answer = told('recovered', 'answer', 2, 'delivered');
    const flap = decide(degraded, target('degraded', 'recovered'), { last: answer, lastProblem: problem }, T0);
    expect(flap).to.deep.include({ write: true, state: 'held', notBefore: T0 + 6 * MIN });
    const later = told('degraded', 'problem', 12, 'delivered');
    expect(decide(degraded, target('degraded'), { last: answer, lastProblem: later }, T0)).to.include({
      state: 'pending',
    });
  });

  it('sends recovered only after a problem the target was told, and cancels one still held', () => {
    const rules = target('degraded', 'recovered');
    expect(decide(recovered, rules, nothingTold, T0)).to.include({ write: false });
    const open = told('degraded', 'problem', 1, 'delivered');
    expect(decide(recovered, rules, { last: open, lastProblem: open }, T0)).to.deep.include({
      write: true,
      kind: 'recovered',
      answers: open,
    });
    const answered = told('recovered', 'answer', 1, 'delivered');
    expect(decide(recovered, rules, { last: answered, lastProblem: open }, T0)).to.include({ write: false });
    const held = told('degraded', 'problem', 1, 'held');
    expect(decide(recovered, rules, { last: held, lastProblem: held }, T0)).to.deep.include({
      write: false,
      cancel: held.id,
    });
    expect(decide(recovered, target('degraded'), { last: open, lastProblem: open }, T0)).to.include({ write: false });
  });

  it('answers a failure with release_ready when asked for, else with recovered, never with both', () => {
    const open = told('test_failed', 'problem', 30, 'delivered');
    const history: Told = { last: open, lastProblem: open };
    expect(decide(ready, target('test_failed', 'release_ready', 'recovered'), history, T0)).to.deep.include({
      kind: 'release_ready',
      answers: open,
    });
    expect(decide(ready, target('test_failed', 'recovered'), history, T0)).to.deep.include({ kind: 'recovered' });
    expect(decide(ready, target('release_ready'), nothingTold, T0)).to.deep.include({
      kind: 'release_ready',
      answers: null,
    });
    expect(decide(ready, target('recovered'), nothingTold, T0)).to.include({ write: false });
  });
});
