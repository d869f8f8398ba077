// hyper-cli smoke <tag>: runs the smoke gate again against the Ready color that runs the tag and
// waits for its result: exit 0 when it passed, 1 when it failed (naming its log), 4 when the daemon
// refused (no color runs the tag, a run is under way, the gate is off) or the wait ran out.
import { setTimeout as delay } from 'node:timers/promises';
import type { Color, ReleaseRecord, SmokeResult } from '../../common/types.js';
import type { ApiClient } from '../client.js';
import { CliError, EXIT, emit, type OutputOptions } from '../output.js';

export interface SmokeArgs {
  tag: string;
  timeoutMs: number;
}

const POLL_MS = 500;

export async function smoke(client: ApiClient, args: SmokeArgs, options: OutputOptions): Promise<number> {
  const route = `/releases/${encodeURIComponent(args.tag)}`;
  const queued = await client.post<{ tag: string; color: Color }>(`${route}/smoke`, {});
  if (!options.json) process.stdout.write(`smoke test of ${args.tag} against ${queued.color} queued\n`);
  // The request cleared the release's result: the next one is this run's.
  const result = await resultOf(client, route, args, queued.color);
  const log = `hyper-cli logs ${args.tag} --smoke`;
  emit(options, { tag: args.tag, color: queued.color, smoke: result }, () =>
    result.passed ? `passed: ${result.summary} (log: ${log})` : `failed: ${result.summary}`,
  );
  if (!result.passed) throw new CliError(EXIT.failed, 'smoke_failed', `${args.tag} failed its smoke test; log: ${log}`);
  return 0;
}

async function resultOf(client: ApiClient, route: string, args: SmokeArgs, color: Color): Promise<SmokeResult> {
  const deadline = Date.now() + args.timeoutMs;
  while (Date.now() < deadline) {
    const { release } = await client.get<{ release: ReleaseRecord }>(route);
    if (release.smoke) return release.smoke;
    await delay(POLL_MS);
  }
  throw new CliError(
    EXIT.conflict,
    'timeout',
    `no smoke result for ${args.tag} on ${color} after ${Math.round(args.timeoutMs / 1000)} s; ` +
      `follow it with hyper-cli logs ${args.tag} --smoke --follow`,
  );
}
