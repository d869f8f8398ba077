// hyper-cli history: the deployment ledger, newest first: which color served which tag, from when
// to when, switched by whom, its gates, and why it ended; then the change-failure rate and the
// median time to restore over the entries listed (the daemon computes both).
import type { DeploymentsAnswer } from '../../api/wire.js';
import type { Deployment } from '../../common/types.js';
import type { ApiClient } from '../client.js';
import { emit, table, type OutputOptions } from '../output.js';

export async function history(client: ApiClient, options: OutputOptions): Promise<number> {
  const answer = await client.get<DeploymentsAnswer>('/deployments');
  const { deployments } = answer;
  emit(options, answer, () =>
    [
      table(
        deployments,
        'no deployments yet: nothing has served traffic',
        'TAG                 COLOR  SWITCHED BY   STARTED                   GATES            ENDED',
        (d) =>
          `${d.tag.padEnd(20)}${d.color.padEnd(7)}${d.switchedBy.padEnd(14)}${d.startedAt.padEnd(26)}` +
          `${gatesOf(d).padEnd(17)}${endOf(d)}`,
      ),
      ...(deployments.length === 0 ? [] : ['', statsLine(answer.stats)]),
    ].join('\n'),
  );
  return 0;
}

function gatesOf(d: Deployment): string {
  return d.gates.length === 0 ? '-' : d.gates.map((g) => `${g.name} ${g.result}`).join(', ');
}

function endOf(d: Deployment): string {
  const ended = d.endedAt === null ? 'serving' : `${d.endedAt} (${d.endReason ?? 'ended'})`;
  return d.verdict === null ? ended : `${ended}: ${d.verdict}`;
}

function statsLine(stats: DeploymentsAnswer['stats']): string {
  const rate = stats.changeFailureRate === null ? '-' : `${(stats.changeFailureRate * 100).toFixed(1)}%`;
  const restore = stats.medianTimeToRestoreMs === null ? '-' : duration(stats.medianTimeToRestoreMs);
  return (
    `change-failure rate ${rate} (${stats.failed} of ${stats.deployments} deployments failed); ` +
    `median time to restore ${restore}`
  );
}

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}
