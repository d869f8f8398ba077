// hyperctl status: the daemon and both colors, through the admin socket.
import type { StatusAnswer } from '../answers.js';
import type { ApiClient } from '../client.js';
import { emit, formatStatus, type OutputOptions } from '../output.js';

export async function status(client: ApiClient, options: OutputOptions): Promise<number> {
  const answer = await client.get<StatusAnswer>('/status');
  emit(options, answer, () => [
    `daemon   up since ${answer.daemon.startedAt}, version ${answer.daemon.version}, units ${answer.daemon.driver}, store ${answer.daemon.store}`,
    formatStatus(answer.status, answer.revision?.number ?? null),
  ].join('\n'));
  return 0;
}
