// THE table: which events of the trail become which notifications, one row per event reason.
// Every fact a message needs (tag, step, color, verdict) is in the event's data, written where the
// event is written; nothing is guessed from its text. Adding a trigger is adding a row. The
// notifier's own events (Notification*) have no row, so it never tells about its own deliveries.
import type { NotificationKind } from '../common/notifications.js';
import type { EventRecord } from '../common/types.js';
import { notice, RELEASES, tagOf, textOf, type LogChoice, type Notice, type NoticeShape } from './notice.js';

type Row = (e: EventRecord) => Notice | null;

const problem = (kind: NotificationKind, subject: string, e: EventRecord, shape?: NoticeShape): Notice =>
  notice(kind, 'problem', subject, e, shape);
const answer = (kind: NotificationKind, subject: string, e: EventRecord, shape?: NoticeShape): Notice =>
  notice(kind, 'answer', subject, e, shape);
const news = (kind: NotificationKind, e: EventRecord, shape?: NoticeShape): Notice =>
  notice(kind, 'news', null, e, shape);

/** One message per kind and tag: a rebuild that ends the same way is the same news. */
const perTag = (e: EventRecord): string => `tag-${tagOf(e)}`;
const colorOf = (e: EventRecord): string => `color:${e.color ?? 'none'}`;
/** The log of the step that failed; a release that passed quotes its test log. */
const stepLog = (e: EventRecord): LogChoice => {
  const step = textOf(e, 'step');
  if (step === null) return 'test';
  return step === 'build' || step === 'test' || step === 'smoke' ? step : null;
};
const failedKind = (e: EventRecord): NotificationKind =>
  textOf(e, 'step') === 'test' ? 'test_failed' : 'build_failed';
/** A unit action that undid a change made behind the hypervisor's back (reconciler/plan.ts `drift`). */
const drifted = (e: EventRecord): boolean => textOf(e, 'drift') !== null;

export const TRIGGERS: Readonly<Record<string, Row>> = {
  BuildFailed: (e) => problem(failedKind(e), RELEASES, e, { once: perTag(e), log: stepLog(e) }),
  BuildSucceeded: (e) => answer('release_ready', RELEASES, e, { once: perTag(e), log: stepLog(e) }),
  Promoted: (e) => news('promoted', e, { once: `deployment-${String(e.data?.deployment)}` }),
  PhaseDegraded: (e) => problem('degraded', colorOf(e), e, { quiet: true, log: 'slot' }),
  PhaseFailed: (e) => problem('degraded', colorOf(e), e, { quiet: true, log: 'slot' }),
  PhaseReady: (e) => answer('recovered', colorOf(e), e),
  Started: (e) => (drifted(e) ? news('drift_corrected', e, { log: 'slot' }) : null),
  Deployed: (e) => (drifted(e) ? news('drift_corrected', e, { log: 'slot' }) : null),
  DiskLow: (e) => problem('disk_low', 'disk', e, { quiet: true }),
  DiskOk: (e) => answer('recovered', 'disk', e),
  SmokeFailed: (e) => problem('smoke_failed', RELEASES, e, { once: perTag(e), log: 'smoke' }),
  Verified: (e) => news('verified', e, { once: perTag(e) }),
  RolledBack: (e) => news('rolled_back', e, { once: `deployment-${String(e.data?.deployment)}` }),
  // A failed canary step: every client went back, and the desired state says so (daemon/canary.ts).
  CanaryRolledBack: (e) => news('rolled_back', e, { once: `revision-${String(e.data?.revision)}` }),
};

/** What `event` means for notifications; null when nothing (no row, or the row says no). */
export function noticeOf(event: EventRecord): Notice | null {
  return Object.hasOwn(TRIGGERS, event.reason) ? TRIGGERS[event.reason]!(event) : null;
}
