// hyperctl reconcile: runs a pass now and prints what it did.
import type { ReconcileAnswer } from '../../api/wire.js';
import type { ApiClient } from '../client.js';
import { emit, type OutputOptions } from '../output.js';

export async function reconcile(client: ApiClient, options: OutputOptions): Promise<number> {
  const answer = await client.post<ReconcileAnswer>('/reconcile');
  emit(options, answer, () => {
    const lines =
      answer.actions.length === 0
        ? ['nothing to do']
        : answer.actions.map(
            (a) => `${a.ok ? 'ok  ' : 'FAIL'} ${a.action.kind}: ${a.action.reason}${a.error ? ` (${a.error})` : ''}`,
          );
    if (answer.waiting) lines.push(`waiting: ${answer.waiting}`);
    return lines.join('\n');
  });
  return answer.actions.some((a) => !a.ok) ? 1 : 0;
}
