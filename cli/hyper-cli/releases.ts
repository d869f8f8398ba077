// hyper-cli releases: release records, newest first.
import type { ReleaseRecord } from '../../common/types.js';
import type { ApiClient } from '../client.js';
import { emit, table, type OutputOptions } from '../output.js';

export async function releases(client: ApiClient, options: OutputOptions): Promise<number> {
  const { releases: list } = await client.get<{ releases: ReleaseRecord[] }>('/releases');
  emit(options, list, () =>
    table(
      list,
      'no releases yet',
      'TAG                 STATUS       SHA       UPDATED',
      (r) =>
        `${r.tag.padEnd(20)}${r.status.padEnd(13)}${(r.sha ?? '-').slice(0, 8).padEnd(10)}` +
        `${r.updatedAt}${r.error ? `  ${r.error}` : ''}`,
    ),
  );
  return 0;
}
