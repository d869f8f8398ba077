// hyper-cli stage <tag> [--color C]: puts a tag on a color (by default the inactive one).
import type { ChangeAnswer } from '../answers.js';
import type { ApiClient } from '../client.js';
import { emit, type OutputOptions } from '../output.js';

export interface StageArgs {
  tag: string;
  color?: string;
}

export async function stage(client: ApiClient, args: StageArgs, options: OutputOptions): Promise<number> {
  const answer = await client.post<ChangeAnswer>('/stage', args.color ? { tag: args.tag, color: args.color } : { tag: args.tag });
  emit(options, answer, () => {
    const { doc, number } = answer.revision;
    const color = args.color ?? (doc.colors.blue.tag === args.tag ? 'blue' : 'green');
    const head = answer.changed ? `staged ${args.tag} on ${color} (revision ${number})` : `${args.tag} was already staged (revision ${number})`;
    return answer.waiting ? `${head}\n${answer.waiting}` : head;
  });
  return 0;
}
