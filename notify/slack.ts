// `slack` targets: an incoming webhook (its URL is the secret, read from a 0600 file). Slack shows
// `text`: the title in bold, what happened, the log lines in a code block and the command.
import type { NotifyMessage } from '../common/notifications.js';
import type { Channel, Delivery } from './channel.js';
import { expectSuccess } from './webhook.js';

export interface SlackOptions {
  name: string;
  url: URL;
  timeoutMs: number;
  userAgent: string;
}

export function slackChannel(options: SlackOptions): Channel {
  return {
    name: options.name,
    kind: 'slack',
    timeoutMs: options.timeoutMs,
    async send(message: NotifyMessage, _delivery: Delivery, signal: AbortSignal): Promise<void> {
      const response = await fetch(options.url, {
        method: 'POST',
        body: JSON.stringify({ text: slackText(message) }),
        signal,
        redirect: 'manual',
        headers: { 'content-type': 'application/json', 'user-agent': options.userAgent },
      });
      await expectSuccess(response);
    },
    close: async () => undefined,
  };
}

/** Slack's mrkdwn: `&`, `<` and `>` are its only escapes; backticks inside a code block are broken up. */
export function slackText(message: NotifyMessage): string {
  const esc = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const lines = [`*${esc(message.title)}*`, esc(message.summary)];
  if (message.verdict) lines.push(`verdict: ${esc(message.verdict)}`);
  if (message.log && message.log.lines.length > 0) {
    lines.push('```', ...message.log.lines.map((l) => esc(l.replace(/```/g, "'''"))), '```');
  }
  lines.push(`more: \`${esc(message.command)}\``);
  return lines.join('\n');
}
