// What a notification target can ask to hear about (issue 14), and the kinds of target. Shared by
// config/ (which validates `notify[].on`), notify/ (which maps events to these) and the API.
import type { Color } from './types.js';

/** Every kind a target's `on:` may list. Gates (issue 13) emit smoke_failed, verified and rolled_back. */
export const NOTIFICATION_KINDS = [
  'build_failed',
  'test_failed',
  'smoke_failed',
  'release_ready',
  'promoted',
  'verified',
  'rolled_back',
  'degraded',
  'recovered',
  'drift_corrected',
  'store_problem',
  'disk_low',
] as const;

export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

export function isNotificationKind(value: unknown): value is NotificationKind {
  return NOTIFICATION_KINDS.includes(value as NotificationKind);
}

export const NOTIFY_TARGET_KINDS = ['slack', 'webhook', 'email'] as const;
export type NotifyTargetKind = (typeof NOTIFY_TARGET_KINDS)[number];

/**
 * Where a message stands in the outbox. `held`: a problem within the quiet period of the last one,
 * sent at `notBefore` unless it is answered first; `pending`: to be sent (again, after a failed
 * try, at `notBefore`); `cancelled`: a held problem answered before it was due, never sent.
 */
export const NOTIFICATION_STATES = ['held', 'pending', 'delivered', 'failed', 'cancelled'] as const;
export type NotificationState = (typeof NOTIFICATION_STATES)[number];

/** What a message plays in the story of its subject: a problem, the answer to one, or plain news. */
export type NotificationRole = 'problem' | 'answer' | 'news';

/**
 * One message as every target kind renders it (the webhook body is this plus `delivery` and
 * `timestamp`; the OpenAPI component NotificationBody describes it). Everything in it is a fact
 * taken from an event's data, a release record or a log file: nothing is parsed out of prose.
 */
export interface NotifyMessage {
  /** The body's version: a receiver may refuse one it does not know. */
  schema: 1;
  kind: NotificationKind | 'test';
  /** One line naming the kind and the tag: an email's subject, Slack's first line. */
  title: string;
  /** What happened, for a person. */
  summary: string;
  app: string;
  host: string;
  tag: string | null;
  color: Color | null;
  /** The step that failed (`checkout`, `build`, `test`, `smoke`), when one did. */
  step: string | null;
  /** A gate's verdict in words and numbers, when there is one. */
  verdict: string | null;
  measured: Record<string, number> | null;
  /** The problem this message answers: a `recovered`, or a `release_ready` after a failure. */
  answers: { kind: NotificationKind; tag: string | null; time: string } | null;
  /** The last lines (at most 20) of the log that tells more. */
  log: { path: string; lines: string[] } | null;
  /** The command that shows more, e.g. `hyper-cli logs v26.11.27.2 --test`. */
  command: string;
  /** The event the message is about; null for a test message or a signal from outside the trail. */
  event: { id: number; reason: string; time: string } | null;
}

/** One message to one target in the outbox: written once (unique `key`), then tried until it is settled. */
export interface NotificationRecord {
  id: number;
  /** Unique across every host sharing the store: `<target>|<kind>|<what it is about>`. */
  key: string;
  target: string;
  kind: NotificationKind;
  role: NotificationRole;
  /** What a problem and its answer are about (`color:blue`, `releases`, `disk`); null for plain news. */
  subject: string | null;
  eventId: number | null;
  /** The same over retries, so a receiver can drop a repeat. */
  deliveryId: string;
  state: NotificationState;
  /** Tries so far. */
  attempts: number;
  /** A held message is sent, or a failed try tried again, at this time (ISO-8601). */
  notBefore: string | null;
  /** A try in progress on some host until then; a try whose host died is taken again after it. */
  leaseUntil: string | null;
  lastError: string | null;
  message: NotifyMessage;
  createdAt: string;
  updatedAt: string;
}

export type NewNotification = Omit<NotificationRecord, 'id' | 'attempts' | 'leaseUntil' | 'lastError' | 'updatedAt'>;

/** How a try or a hold ends. */
export interface NotificationSettle {
  state: NotificationState;
  notBefore?: string | null;
  lastError?: string | null;
}
