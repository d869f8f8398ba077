// hyper-cli desired apply -f FILE [--if-revision N]: replaces the desired state with the file's
// (YAML or JSON). The server validates it; --if-revision refuses the write (exit 4) when someone
// changed the desired state after revision N, so an edit made from a stale copy is not lost. A file
// that would leave no color serving is refused (exit 4) unless --confirm-outage says it is meant.
import type { ChangeAnswer } from '../../api/wire.js';
import type { ApiClient } from '../client.js';
import { emit, type OutputOptions } from '../output.js';
import { readDesiredFile } from './desired-file.js';

export interface ApplyArgs {
  file?: string;
  ifRevision?: number;
  confirmOutage?: boolean;
}

export async function desiredApply(client: ApiClient, args: ApplyArgs, options: OutputOptions): Promise<number> {
  const body = await readDesiredFile(args.file, 'apply');
  const headers: Record<string, string> = { 'content-type': 'application/yaml' };
  if (args.ifRevision !== undefined) headers['if-match'] = `"${args.ifRevision}"`;
  const route = args.confirmOutage ? '/desired?confirm=outage' : '/desired';
  const { text } = await client.send('PUT', route, { body, headers });
  const answer = JSON.parse(text) as ChangeAnswer;
  emit(options, answer, () =>
    answer.changed
      ? `applied: desired state revision ${answer.revision.number}`
      : `unchanged: the file matches revision ${answer.revision.number}`,
  );
  return 0;
}
