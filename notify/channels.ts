// The channels of the `notify:` targets, opened once at start: secrets read and checked, so a
// missing or loose secret stops the daemon with the key that names it, like every other setting.
import os from 'node:os';
import type { NotifyTarget } from '../config/notify.js';
import type { Channel } from './channel.js';
import { emailChannel } from './email.js';
import { readSecret, readSecretUrl } from './secrets.js';
import { slackChannel } from './slack.js';
import { webhookChannel } from './webhook.js';

export async function openChannels(targets: readonly NotifyTarget[], version: string): Promise<Map<string, Channel>> {
  const userAgent = `openhack-hypervisor/${version}`;
  const channels = new Map<string, Channel>();
  for (const [i, target] of targets.entries()) {
    const key = `notify[${i}]`;
    const { name, timeoutMs } = target;
    switch (target.kind) {
      case 'slack': {
        const url = await readSecretUrl(`${key}.urlFile`, target.urlFile);
        channels.set(name, slackChannel({ name, url, timeoutMs, userAgent }));
        break;
      }
      case 'webhook': {
        const secret = await readSecret(`${key}.secretFile`, target.secretFile);
        channels.set(name, webhookChannel({ name, url: target.url, secret, timeoutMs, userAgent }));
        break;
      }
      case 'email': {
        const from = target.from ?? `hypervisor@${os.hostname()}`;
        channels.set(name, await emailChannel({ name, key, smtp: target.smtp, to: target.to, from, timeoutMs }));
        break;
      }
      default: {
        const never: never = target;
        throw new Error(`unknown target ${JSON.stringify(never)}`);
      }
    }
  }
  return channels;
}
