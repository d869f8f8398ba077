// hyper-cli history: the deployment ledger, newest first: which color served which tag, from when
// to when, switched by whom, and why it ended.
import type { Deployment } from '../../common/types.js';
import type { ApiClient } from '../client.js';
import { emit, table, type OutputOptions } from '../output.js';

export async function history(client: ApiClient, options: OutputOptions): Promise<number> {
  const { deployments } = await client.get<{ deployments: Deployment[] }>('/deployments');
  emit(options, deployments, () =>
    table(
      deployments,
      'no deployments yet: nothing has served traffic',
      'TAG                 COLOR  SWITCHED BY   STARTED                   ENDED',
      (d) =>
        `${d.tag.padEnd(20)}${d.color.padEnd(7)}${d.switchedBy.padEnd(14)}${d.startedAt.padEnd(26)}` +
        (d.endedAt === null ? 'serving' : `${d.endedAt} (${d.endReason ?? 'ended'})`),
    ),
  );
  return 0;
}
