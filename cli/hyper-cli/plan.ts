// hyper-cli plan: the actions the next pass would take, from a fresh look at the host.
import type { PlanAnswer } from '../../api/wire.js';
import type { ApiClient } from '../client.js';
import { emit, type OutputOptions } from '../output.js';

export async function plan(client: ApiClient, options: OutputOptions): Promise<number> {
  const answer = await client.get<PlanAnswer>('/plan');
  emit(options, answer, () => {
    const lines = [`revision ${answer.revision ?? '-'}`];
    for (const [color, c] of Object.entries(answer.colors))
      lines.push(`${color.padEnd(6)} ${c.phase.padEnd(9)} ${c.message}`);
    lines.push(
      '',
      ...(answer.actions.length === 0 ? ['nothing to do'] : answer.actions.map((a) => `${a.kind}: ${a.reason}`)),
    );
    if (answer.waiting) lines.push(`waiting: ${answer.waiting}`);
    return lines.join('\n');
  });
  return 0;
}
