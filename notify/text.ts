// The message as plain text, for email (and anything else that shows words, not JSON).
import type { NotifyMessage } from '../common/notifications.js';

export function plainText(message: NotifyMessage): string {
  const facts = [
    message.tag && `tag: ${message.tag}`,
    message.color && `color: ${message.color}`,
    message.step && `step: ${message.step}`,
  ].filter(Boolean);
  const lines = [
    message.summary,
    '',
    `${message.app} on ${message.host}${facts.length ? `; ${facts.join(', ')}` : ''}`,
  ];
  if (message.verdict) lines.push(`verdict: ${message.verdict}`);
  if (message.answers) {
    const { kind, tag, time } = message.answers;
    lines.push(`answers: ${kind}${tag ? ` ${tag}` : ''} (${time})`);
  }
  if (message.log) {
    lines.push(
      '',
      `last ${message.log.lines.length} lines of ${message.log.path}:`,
      ...message.log.lines.map((l) => `  ${l}`),
    );
  }
  lines.push('', `more: ${message.command}`);
  if (message.event) lines.push(`event ${message.event.id} (${message.event.reason}) at ${message.event.time}`);
  return `${lines.join('\n')}\n`;
}
