// hyper-cli logs <tag> [--test] [--follow]: a release's build (or test) log; --follow prints it
// as it grows and returns when the step ends. With --json: one object, or (--follow) one per line.
import type { ApiClient } from '../client.js';
import type { OutputOptions } from '../output.js';

export interface LogsArgs {
  tag: string;
  kind: 'build' | 'test';
  follow: boolean;
}

export async function logs(client: ApiClient, args: LogsArgs, options: OutputOptions): Promise<number> {
  const route = `/releases/${encodeURIComponent(args.tag)}/logs/${args.kind}${args.follow ? '?follow=1' : ''}`;
  if (!options.json) {
    await client.stream(route, (text) => process.stdout.write(text));
    return 0;
  }
  const { tag, kind } = args;
  if (!args.follow) {
    let text = '';
    await client.stream(route, (chunk) => (text += chunk));
    const lines = text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    process.stdout.write(`${JSON.stringify({ tag, kind, lines }, null, 2)}\n`);
    return 0;
  }
  let pending = '';
  await client.stream(route, (chunk) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) process.stdout.write(`${JSON.stringify({ tag, kind, line })}\n`);
  });
  if (pending) process.stdout.write(`${JSON.stringify({ tag, kind, line: pending })}\n`);
  return 0;
}
