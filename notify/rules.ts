// No spam, decided per target and per notice, as a pure function of what the target was told
// before about the same subject and the time (an injected clock in tests):
// - news and per-tag problems: once per key (the outbox's unique key does that);
// - a quiet problem (degraded, disk_low) repeated while the last one is unanswered and younger
//   than the quiet period collapses into it; after the quiet period it is said again;
// - a quiet problem that comes back within the quiet period of the last one, after it was
//   answered (a flapping color), is held until that period ends, and sent only if no answer
//   comes first: the answer then cancels it, and the operator, told "recovered", heard the truth;
// - an answer is sent only when the target was told the problem it answers; an answer with a kind
//   of its own (release_ready) is sent to those who asked for that kind, naming what it answers.
import type { NotificationKind, NotificationRecord, NotificationState } from '../common/notifications.js';
import type { Notice } from './notice.js';

export interface TargetRules {
  on: readonly NotificationKind[];
  quietPeriodMs: number;
}

/** What the target was told about the notice's subject: the newest message, and the newest problem. */
export interface Told {
  last: Pick<NotificationRecord, 'id' | 'kind' | 'role' | 'state' | 'createdAt' | 'message'> | null;
  lastProblem: Pick<NotificationRecord, 'id' | 'createdAt'> | null;
}

export type Decision =
  | {
      write: true;
      kind: NotificationKind;
      state: Extract<NotificationState, 'pending' | 'held'>;
      notBefore: number | null;
      /** The problem this message answers. */
      answers: Told['last'];
      /** A held problem this answer makes moot: it is cancelled, never sent. */
      cancel: number | null;
    }
  | { write: false; why: string; cancel: number | null };

const skip = (why: string, cancel: number | null = null): Decision => ({ write: false, why, cancel });
const send = (kind: NotificationKind, answers: Told['last'] = null): Decision => ({
  write: true,
  kind,
  state: 'pending',
  notBefore: null,
  answers,
  cancel: null,
});

export function decide(notice: Notice, target: TargetRules, told: Told, now: number): Decision {
  switch (notice.role) {
    case 'news':
      return target.on.includes(notice.kind) ? send(notice.kind) : skip(`not subscribed to ${notice.kind}`);
    case 'problem':
      return decideProblem(notice, target, told, now);
    case 'answer':
      return decideAnswer(notice, target, told);
    default: {
      const never: never = notice.role;
      throw new Error(`unknown role ${String(never)}`);
    }
  }
}

function decideProblem(notice: Notice, target: TargetRules, told: Told, now: number): Decision {
  if (!target.on.includes(notice.kind)) return skip(`not subscribed to ${notice.kind}`);
  if (!notice.quiet) return send(notice.kind);
  const { last, lastProblem } = told;
  if (last?.role === 'problem') {
    if (last.state === 'held') return skip(`collapsed into message ${last.id}, held until its quiet period ends`);
    if (now - Date.parse(last.createdAt) < target.quietPeriodMs) {
      return skip(`collapsed into message ${last.id} (within the quiet period)`);
    }
    return send(notice.kind);
  }
  const quietUntil = lastProblem ? Date.parse(lastProblem.createdAt) + target.quietPeriodMs : 0;
  if (last?.role === 'answer' && quietUntil > now) {
    return { write: true, kind: notice.kind, state: 'held', notBefore: quietUntil, answers: null, cancel: null };
  }
  return send(notice.kind);
}

function decideAnswer(notice: Notice, target: TargetRules, told: Told): Decision {
  const open = told.last?.role === 'problem' ? told.last : null;
  const ownKind = notice.kind !== 'recovered' && target.on.includes(notice.kind);
  if (open?.state === 'held') {
    // Never sent: the target last heard the answer before it, which is true again.
    return ownKind ? { ...send(notice.kind), cancel: open.id } : skip('answers a problem never sent', open.id);
  }
  if (ownKind) return send(notice.kind, open);
  if (open && target.on.includes('recovered')) return send('recovered', open);
  return skip(open ? 'not subscribed to recovered' : 'no problem told to answer');
}
