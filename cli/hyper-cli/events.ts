// hyper-cli events [--follow]: the event trail; --follow keeps printing events as they happen.
import type { EventRecord } from '../../common/types.js';
import type { ApiClient } from '../client.js';
import { emit, type OutputOptions } from '../output.js';

export async function events(client: ApiClient, args: { follow: boolean }, options: OutputOptions): Promise<number> {
  if (!args.follow) {
    const { events: list } = await client.get<{ events: EventRecord[] }>('/events');
    emit(options, list, () => list.map(format).join('\n') || 'no events yet');
    return 0;
  }
  let pending = '';
  await client.stream('/events?follow=1', (text) => {
    const lines = (pending + text).split('\n');
    pending = lines.pop() ?? '';
    // Blank lines are the server's heartbeats.
    for (const line of lines.filter((l) => l.trim() !== '')) {
      process.stdout.write(options.json ? `${line}\n` : `${format(JSON.parse(line) as EventRecord)}\n`);
    }
  });
  return 0;
}

function format(e: EventRecord): string {
  return `${e.time}  ${e.reason.padEnd(20)} ${(e.color ?? '').padEnd(6)} ${e.actor.padEnd(12)} ${e.message}`;
}
