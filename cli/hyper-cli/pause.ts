// hyper-cli pause: the loop keeps observing and reporting but changes nothing on the host.
import type { ChangeAnswer } from '../../api/wire.js';
import type { ApiClient } from '../client.js';
import { emit, type OutputOptions } from '../output.js';

export async function pause(client: ApiClient, options: OutputOptions): Promise<number> {
  const answer = await client.post<ChangeAnswer>('/pause', {});
  emit(options, answer, () => (answer.changed ? `paused (revision ${answer.revision.number})` : 'already paused'));
  return 0;
}
