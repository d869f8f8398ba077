// hyper-cli resume: the loop acts again.
import type { ChangeAnswer } from '../../api/wire.js';
import type { ApiClient } from '../client.js';
import { emit, type OutputOptions } from '../output.js';

export async function resume(client: ApiClient, options: OutputOptions): Promise<number> {
  const answer = await client.post<ChangeAnswer>('/resume', {});
  emit(options, answer, () => (answer.changed ? `resumed (revision ${answer.revision.number})` : 'not paused'));
  return 0;
}
