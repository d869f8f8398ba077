// hyper-cli config get: the running config as YAML, secret values redacted (the files that hold
// secrets are named), and the keys changed at runtime with who changed them.
import YAML from 'yaml';
import type { ConfigAnswer } from '../../api/wire.js';
import type { ApiClient } from '../client.js';
import { emit, type OutputOptions } from '../output.js';

export async function configGet(client: ApiClient, options: OutputOptions): Promise<number> {
  const answer = await client.get<ConfigAnswer>('/config');
  emit(options, answer, () => {
    const changed = answer.overrides.map((o) => `#   ${o.key} by ${o.by} at ${o.at}`);
    const header = changed.length === 0 ? ['# no runtime changes'] : [`# set at runtime (${answer.overridesFile}):`];
    return [...header, ...changed, YAML.stringify(answer.config).trimEnd()].join('\n');
  });
  return 0;
}
