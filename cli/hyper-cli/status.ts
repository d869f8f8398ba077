// hyper-cli status: desired, observed and status of both colors.
import type { ApiClient } from '../client.js';
import { emit, formatStatus, type OutputOptions } from '../output.js';
import type { StatusAnswer } from '../../api/wire.js';

export async function status(client: ApiClient, options: OutputOptions): Promise<number> {
  const answer = await client.get<StatusAnswer>('/status');
  emit(options, answer, () => formatStatus(answer.status, answer.revision?.number ?? null));
  return 0;
}
