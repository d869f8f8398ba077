// hyper-cli rollback: traffic back to the color that served before the last switch, if it still
// runs the tag it served then and is Ready. Success names both tags; so does a refusal (the API's
// message says what changed and how to get back by hand).
import type { ChangeAnswer } from '../../api/wire.js';
import type { ApiClient } from '../client.js';
import { emit, type OutputOptions } from '../output.js';

export async function rollback(client: ApiClient, options: OutputOptions): Promise<number> {
  const answer = await client.post<ChangeAnswer>('/rollback', {});
  emit(options, answer, () => {
    const back = answer.rollback;
    const where = back ? `${back.to} (${back.tag}) from ${back.from} (${back.fromTag})` : String(answer.active);
    return answer.changed
      ? `rolled back: traffic now goes to ${where} (revision ${answer.revision.number})`
      : `traffic already goes to ${back ? `${back.to} (${back.tag})` : String(answer.active)}`;
  });
  return 0;
}
