// hyper-cli desired diff -f FILE: what applying the file would change, one line per difference,
// against the current revision. Nothing is written. The daemon reads the file with the document's
// own parser (syntax, keys, safe tags) and compares (POST /desired/diff); the tag pattern is checked on apply.
import type { DiffAnswer } from '../../api/wire.js';
import { ApiError, type ApiClient } from '../client.js';
import { emit, UsageError, type OutputOptions } from '../output.js';
import { readDesiredFile } from './desired-file.js';

export async function desiredDiff(
  client: ApiClient,
  file: string | undefined,
  options: OutputOptions,
): Promise<number> {
  const body = await readDesiredFile(file, 'diff');
  const answer = await compare(client, body, file);
  emit(options, answer, () =>
    answer.changes.length === 0
      ? `no differences from revision ${answer.revision ?? '-'}`
      : [`revision ${answer.revision ?? '-'} -> ${file}:`, ...answer.changes.map((c) => `  ${c}`)].join('\n'),
  );
  return 0;
}

async function compare(client: ApiClient, body: string, file: string | undefined): Promise<DiffAnswer> {
  try {
    const { text } = await client.send('POST', '/desired/diff', {
      body,
      headers: { 'content-type': 'application/yaml' },
    });
    return JSON.parse(text) as DiffAnswer;
  } catch (err) {
    // The file is at fault, not the command: say which file, as for a file that cannot be read.
    if (err instanceof ApiError && err.status === 400) throw new UsageError(`${file}: ${err.message}`);
    throw err;
  }
}
