// hyper-cli logs <tag> [--test|--smoke] [--follow]: a release's build (or test, or smoke) log; --follow prints it
// as it grows and returns when the step ends. With --json: one object, or (--follow) one per line.
// A log whose local copy retention removed comes from the archive: stderr (or --json) says so.
import { LOG_HEADERS } from '../../api/wire.js';
import type { ApiClient } from '../client.js';
import type { OutputOptions } from '../output.js';

export interface LogsArgs {
  tag: string;
  kind: 'build' | 'test' | 'smoke';
  follow: boolean;
}

export async function logs(client: ApiClient, args: LogsArgs, options: OutputOptions): Promise<number> {
  const route = `/releases/${encodeURIComponent(args.tag)}/logs/${args.kind}${args.follow ? '?follow=1' : ''}`;
  if (!options.json) {
    const headers = await client.stream(route, (text) => process.stdout.write(text));
    const archived = archivedFrom(headers);
    if (archived) {
      process.stderr.write(
        `hyper-cli: the ${args.kind} log of ${args.tag} came from the archive, ${archived.location} ` +
          `(sha256 ${archived.sha256}): its copy on the host was removed by retention\n`,
      );
    }
    return 0;
  }
  const { tag, kind } = args;
  if (!args.follow) {
    let text = '';
    const headers = await client.stream(route, (chunk) => (text += chunk));
    const lines = text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    const source = archivedFrom(headers) ?? { source: 'local' };
    process.stdout.write(`${JSON.stringify({ tag, kind, ...source, lines }, null, 2)}\n`);
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

function archivedFrom(headers: Headers): { source: 'archive'; location: string; sha256: string } | null {
  if (headers.get(LOG_HEADERS.source) !== 'archive') return null;
  return {
    source: 'archive',
    location: headers.get(LOG_HEADERS.location) ?? '',
    sha256: headers.get(LOG_HEADERS.sha256) ?? '',
  };
}
