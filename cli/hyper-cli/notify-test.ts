// hyper-cli notify test <name>: one test message to a notification target, and how it went. Exit 0
// when it was delivered, 1 when the target did not take it (the reason is printed), 2 for a name no
// target has (the API's 404).
import type { NotifyTestAnswer } from '../../api/wire.js';
import type { ApiClient } from '../client.js';
import { CliError, EXIT, emit, type OutputOptions } from '../output.js';

export async function notifyTest(client: ApiClient, name: string, options: OutputOptions): Promise<number> {
  const answer = await client.post<NotifyTestAnswer>(`/notify/${encodeURIComponent(name)}/test`, {});
  if (answer.outcome === 'failed') {
    const message =
      `test message to ${answer.target} (${answer.kind}) failed after ${answer.durationMs} ms: ` + String(answer.error);
    if (options.json) {
      emit(options, answer, () => message);
      return EXIT.failed;
    }
    throw new CliError(EXIT.failed, 'delivery_failed', message);
  }
  emit(options, answer, () => `test message to ${answer.target} (${answer.kind}) delivered in ${answer.durationMs} ms`);
  return EXIT.ok;
}
