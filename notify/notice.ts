// A notice: what one event means for the people who asked to hear about it, before it is decided
// per target (rules.ts) and written as a message (compose.ts). Built by the trigger table.
import type { NotificationKind, NotificationRole } from '../common/notifications.js';
import type { Color, EventRecord } from '../common/types.js';

/** The log whose last lines a message quotes: a release step's, or the color's own (slot) log. */
export type LogChoice = 'build' | 'test' | 'smoke' | 'slot' | null;

export interface Notice {
  kind: NotificationKind;
  role: NotificationRole;
  /** What a problem and its answer are about (`releases`, `color:blue`, `disk`); null for news. */
  subject: string | null;
  /** Repeats about the subject within a target's quiet period collapse into one message. */
  quiet: boolean;
  /** With target and kind, what makes two messages one (a tag, a deployment, an event): the outbox key. */
  once: string;
  tag: string | null;
  color: Color | null;
  step: string | null;
  verdict: string | null;
  measured: Record<string, number> | null;
  log: LogChoice;
  event: EventRecord;
}

/** The parts a trigger row chooses; the rest comes from the event. */
export interface NoticeShape {
  quiet?: boolean;
  once?: string;
  log?: LogChoice;
  /** Overrides the event's color (e.g. a subject's color). */
  color?: Color | null;
}

export const RELEASES = 'releases';

export function textOf(event: EventRecord, key: string): string | null {
  const value = event.data?.[key];
  return typeof value === 'string' ? value : null;
}

export function tagOf(event: EventRecord): string | null {
  return textOf(event, 'tag');
}

export function notice(
  kind: NotificationKind,
  role: NotificationRole,
  subject: string | null,
  event: EventRecord,
  shape: NoticeShape = {},
): Notice {
  const measured = event.data?.measured;
  return {
    kind,
    role,
    subject,
    quiet: shape.quiet ?? false,
    once: shape.once ?? `event-${event.id}`,
    tag: tagOf(event),
    color: shape.color === undefined ? event.color : shape.color,
    step: textOf(event, 'step'),
    verdict: textOf(event, 'verdict'),
    measured: measured && typeof measured === 'object' ? (measured as Record<string, number>) : null,
    log: shape.log ?? null,
    event,
  };
}
