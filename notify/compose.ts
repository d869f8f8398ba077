// A notice becomes the message every target kind renders (common/notifications.ts NotifyMessage):
// what happened (the event's own words), the tag and color, the failing step or the verdict, the
// last lines of the log that tells more, and the command that shows the rest.
import path from 'node:path';
import type { NotificationKind, NotifyMessage } from '../common/notifications.js';
import type { Notice } from './notice.js';
import type { Told } from './rules.js';
import { logTail } from './log-tail.js';

export interface ComposeContext {
  app: string;
  host: string;
  /** `<root>/logs`. */
  logsDir: string;
}

export async function compose(
  notice: Notice,
  kind: NotificationKind,
  answers: Told['last'],
  context: ComposeContext,
): Promise<NotifyMessage> {
  const log = logPath(notice, context.logsDir);
  const lines = log === null ? null : await logTail(log);
  return {
    schema: 1,
    kind,
    title: titleOf(kind, notice, context.app),
    summary: answers ? `${notice.event.message} (after: ${answers.message.summary})` : notice.event.message,
    app: context.app,
    host: context.host,
    tag: notice.tag,
    color: notice.color,
    step: notice.step,
    verdict: notice.verdict,
    measured: notice.measured,
    answers: answers ? { kind: answers.kind, tag: answers.message.tag, time: answers.createdAt } : null,
    log: log !== null && lines !== null ? { path: log, lines } : null,
    command: commandOf(notice),
    event: { id: notice.event.id, reason: notice.event.reason, time: notice.event.time },
  };
}

/** `[app] test_failed v26.11.27.2 (test)`: names the kind and the tag, as an email subject must. */
export function titleOf(kind: string, notice: Pick<Notice, 'tag' | 'color' | 'step'>, app: string): string {
  const parts = [`[${app}] ${kind}`];
  if (notice.tag) parts.push(notice.tag);
  if (notice.color) parts.push(`on ${notice.color}`);
  if (notice.step) parts.push(`(${notice.step})`);
  return parts.join(' ');
}

function logPath(notice: Notice, logsDir: string): string | null {
  switch (notice.log) {
    case 'build':
    case 'test':
    case 'smoke':
      return notice.tag ? path.join(logsDir, notice.tag, `${notice.log}.log`) : null;
    case 'slot':
      return notice.color ? path.join(logsDir, `${notice.color}.log`) : null;
    case null:
      return null;
    default: {
      const never: never = notice.log;
      throw new Error(`unknown log ${String(never)}`);
    }
  }
}

function commandOf(notice: Notice): string {
  switch (notice.log) {
    case 'build':
      return `hyper-cli logs ${notice.tag}`;
    case 'test':
    case 'smoke':
      return `hyper-cli logs ${notice.tag} --${notice.log}`;
    default:
      return notice.kind === 'promoted'
        ? 'hyper-cli history'
        : notice.subject === 'disk'
          ? 'hyperctl doctor'
          : 'hyper-cli status';
  }
}
