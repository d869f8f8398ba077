// hyper-cli rollback: traffic back to the previously active color, if it is still Ready.
import type { ChangeAnswer } from '../answers.js';
import type { ApiClient } from '../client.js';
import { emit, type OutputOptions } from '../output.js';

export async function rollback(client: ApiClient, options: OutputOptions): Promise<number> {
  const answer = await client.post<ChangeAnswer>('/rollback', {});
  emit(options, answer, () => {
    const active = answer.active ?? answer.revision.doc.active;
    return answer.changed
      ? `rolled back: traffic now goes to ${active} (revision ${answer.revision.number})`
      : `traffic already goes to ${active}`;
  });
  return 0;
}
