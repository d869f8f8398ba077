// What both adapters share for the notifier's outbox: argument checks and the one copy of a record,
// so a message reads back with exactly the same keys whichever store held it.
import { ValidationError } from '../common/errors.js';
import {
  NOTIFICATION_STATES,
  type NewNotification,
  type NotificationRecord,
  type NotificationSettle,
  type NotificationState,
  type NotifyMessage,
} from '../common/notifications.js';

export function copyNotification(n: NotificationRecord): NotificationRecord {
  return {
    id: n.id,
    key: n.key,
    target: n.target,
    kind: n.kind,
    role: n.role,
    subject: n.subject ?? null,
    eventId: n.eventId ?? null,
    deliveryId: n.deliveryId,
    state: n.state,
    attempts: n.attempts,
    notBefore: n.notBefore ?? null,
    leaseUntil: n.leaseUntil ?? null,
    lastError: n.lastError ?? null,
    // Through JSON, like event data: both stores hand back plain data, never a shared object.
    message: JSON.parse(JSON.stringify(n.message)) as NotifyMessage,
    createdAt: n.createdAt,
    updatedAt: n.updatedAt,
  };
}

export function newNotification(id: number, n: NewNotification, time: string): NotificationRecord {
  checkState(n.state);
  checkTime(n.createdAt, 'createdAt');
  if (n.notBefore !== null) checkTime(n.notBefore, 'notBefore');
  return copyNotification({ ...n, id, attempts: 0, leaseUntil: null, lastError: null, updatedAt: time });
}

/** The record after a settle: the lease is dropped; notBefore and lastError change only when given. */
export function settled(n: NotificationRecord, change: NotificationSettle, time: string): NotificationRecord {
  checkState(change.state);
  if (change.notBefore) checkTime(change.notBefore, 'notBefore');
  return copyNotification({
    ...n,
    state: change.state,
    notBefore: change.notBefore === undefined ? n.notBefore : change.notBefore,
    lastError: change.lastError === undefined ? n.lastError : change.lastError,
    leaseUntil: null,
    updatedAt: time,
  });
}

/** Whether a message may be taken for a try at `now` (the same rule as dueNotifications). */
export function isDue(n: NotificationRecord, now: string): boolean {
  return (
    (n.state === 'pending' || n.state === 'held') &&
    (n.notBefore === null || n.notBefore <= now) &&
    (n.leaseUntil === null || n.leaseUntil <= now)
  );
}

export function claimed(n: NotificationRecord, leaseUntil: string, time: string): NotificationRecord {
  return copyNotification({ ...n, state: 'pending', attempts: n.attempts + 1, leaseUntil, updatedAt: time });
}

export function checkState(state: NotificationState): void {
  if (!NOTIFICATION_STATES.includes(state)) {
    throw new ValidationError('state', `must be one of ${NOTIFICATION_STATES.join(', ')}, got ${String(state)}`);
  }
}

/**
 * Times are compared as text in both stores, which orders ISO-8601 instants only in one form: the
 * UTC form toISOString() writes.
 */
export function checkTime(value: string, key: string): string {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(value)) {
    throw new ValidationError(key, `must be an ISO-8601 UTC time like 2026-11-27T10:00:00.000Z, got ${String(value)}`);
  }
  return value;
}
