// hyper-cli webhooks [--follow] [--since 24h]: the GitHub deliveries the hypervisor took, oldest
// first, with what it made of each; --follow keeps printing new ones as they arrive.
import type { DeliveryAnswer } from '../../api/wire.js';
import type { ApiClient } from '../client.js';
import { emit, table, type OutputOptions } from '../output.js';

export interface WebhooksArgs {
  follow: boolean;
  since: string | undefined;
}

const HEADER =
  'RECEIVED                  DELIVERY                              EVENT     REF                     OUTCOME';

export async function webhooks(client: ApiClient, args: WebhooksArgs, options: OutputOptions): Promise<number> {
  const query = args.since === undefined ? '' : `since=${encodeURIComponent(args.since)}`;
  if (!args.follow) {
    const answer = await client.get<{ deliveries: DeliveryAnswer[]; since: string }>(`/webhooks/github?${query}`);
    const list = answer.deliveries;
    emit(options, list, () => table(list, `no deliveries since ${answer.since}`, HEADER, format));
    return 0;
  }
  if (!options.json) process.stdout.write(`${HEADER}\n`);
  let pending = '';
  await client.stream(`/webhooks/github?follow=1&${query}`, (text) => {
    const lines = (pending + text).split('\n');
    pending = lines.pop() ?? '';
    // Blank lines are the server's heartbeats.
    for (const line of lines.filter((l) => l.trim() !== '')) {
      process.stdout.write(options.json ? `${line}\n` : `${format(JSON.parse(line) as DeliveryAnswer)}\n`);
    }
  });
  return 0;
}

function format(d: DeliveryAnswer): string {
  const ref = d.ref ?? '-';
  return `${d.receivedAt.padEnd(26)}${d.deliveryId.padEnd(38)}${d.event.padEnd(10)}${ref.padEnd(24)}${d.outcome}`;
}
