// hyperctl reconcile: runs a pass now and prints what it did.
import type { ReconcileAnswer } from '../../api/wire.js';
import type { ApiClient } from '../client.js';
import { emit, type OutputOptions } from '../output.js';

type Outcome = ReconcileAnswer['actions'][number];

export async function reconcile(client: ApiClient, options: OutputOptions): Promise<number> {
  const answer = await client.post<ReconcileAnswer>('/reconcile');
  emit(options, answer, () => {
    const lines = answer.actions.length === 0 ? ['nothing to do'] : answer.actions.map(line);
    if (answer.waiting) lines.push(`waiting: ${answer.waiting}`);
    return lines.join('\n');
  });
  return answer.actions.some((a) => a.result !== 'done') ? 1 : 0;
}

function line(outcome: Outcome): string {
  const what = `${outcome.action.kind}: ${outcome.action.reason}`;
  switch (outcome.result) {
    case 'done':
      return `ok   ${what}`;
    case 'failed':
      return `FAIL ${what} (${outcome.error})`;
    case 'skipped':
      return `SKIP ${what} (${outcome.why})`;
    default: {
      const never: never = outcome;
      throw new Error(`unknown outcome ${JSON.stringify(never)}`);
    }
  }
}
