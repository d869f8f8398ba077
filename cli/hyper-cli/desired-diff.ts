// hyper-cli desired diff -f FILE: what applying the file would change, one line per difference,
// against the current revision. Nothing is written. The file is read with the document's own
// parser (syntax, keys, safe tags); the server's tag pattern is checked on apply.
import type { DesiredDoc, Revision } from '../../common/types.js';
import { describeChange, emptyDesired } from '../../desired-state/document.js';
import { parseDesiredYaml } from '../../desired-state/yaml.js';
import { ApiError, type ApiClient } from '../client.js';
import { emit, UsageError, type OutputOptions } from '../output.js';
import { readDesiredFile } from './desired-file.js';

/** Any tag shape passes here; SAFE_TAG inside the parser still refuses unsafe ones. */
const ANY_TAG = /^v.*$/;

export async function desiredDiff(
  client: ApiClient,
  file: string | undefined,
  options: OutputOptions,
): Promise<number> {
  const text = await readDesiredFile(file, 'diff');
  let proposed: DesiredDoc;
  try {
    proposed = parseDesiredYaml(text, ANY_TAG);
  } catch (err) {
    throw new UsageError(`${file}: ${(err as Error).message}`);
  }
  const current = await currentRevision(client);
  const changes = describeChange(current?.doc ?? emptyDesired(), proposed);
  const answer = { revision: current?.number ?? null, differs: changes.length > 0, changes, proposed };
  emit(options, answer, () =>
    changes.length === 0
      ? `no differences from revision ${answer.revision ?? '-'}`
      : [`revision ${answer.revision ?? '-'} -> ${file}:`, ...changes.map((c) => `  ${c}`)].join('\n'),
  );
  return 0;
}

async function currentRevision(client: ApiClient): Promise<Revision | null> {
  try {
    return await client.get<Revision>('/desired');
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null; // no desired state yet
    throw err;
  }
}
