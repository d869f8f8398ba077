// hyper-cli logs <tag> [--test] [--follow]: a release's build (or test) log; --follow prints it
// as it grows and returns when the step ends.
import type { ApiClient } from '../client.js';

export interface LogsArgs {
  tag: string;
  kind: 'build' | 'test';
  follow: boolean;
}

export async function logs(client: ApiClient, args: LogsArgs): Promise<number> {
  const route = `/releases/${encodeURIComponent(args.tag)}/logs/${args.kind}${args.follow ? '?follow=1' : ''}`;
  await client.stream(route, (text) => process.stdout.write(text));
  return 0;
}
