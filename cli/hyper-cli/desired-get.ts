// hyper-cli desired get: the current desired state as YAML (the text `desired apply -f` takes), or
// with --json the whole revision (number, source, author, time).
import type { Revision } from '../../common/types.js';
import type { ApiClient } from '../client.js';
import { emit, type OutputOptions } from '../output.js';

export async function desiredGet(client: ApiClient, options: OutputOptions): Promise<number> {
  if (options.json) {
    const revision = await client.get<Revision>('/desired');
    emit(options, revision, () => '');
    return 0;
  }
  // text/yaml: the media type the API's content negotiation maps `yaml` to.
  const { text, headers } = await client.send('GET', '/desired', { headers: { accept: 'text/yaml' } });
  const revision = (headers.get('etag') ?? '').replace(/"/g, '');
  // A comment line: the output stays a document that apply -f reads back unchanged.
  process.stdout.write(`# desired state, revision ${revision || '-'}\n${text}`);
  return 0;
}
