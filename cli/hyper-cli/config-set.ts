// hyper-cli config set KEY VALUE: one key of policy, gates or notify, at runtime (admins only).
// VALUE is YAML, as it would be written in the file: `true`, `10m`, `[build_failed, test_failed]`,
// `{ name: ci, kind: webhook, ... }`. The daemon checks it like the file and answers what it refused.
import YAML from 'yaml';
import type { ConfigSetAnswer } from '../../api/wire.js';
import type { ApiClient } from '../client.js';
import { emit, UsageError, type OutputOptions } from '../output.js';

export async function configSet(client: ApiClient, key: string, text: string, options: OutputOptions): Promise<number> {
  let value: unknown;
  try {
    value = YAML.parse(text);
  } catch (err) {
    throw new UsageError(`VALUE must be YAML (like true, 10m or [a, b]): ${(err as Error).message}`);
  }
  const answer = await client.put<ConfigSetAnswer>(`/config/${encodeURIComponent(key)}`, { value });
  const when = answer.appliesAt === 'now' ? 'applied without a restart' : 'applied at the next start';
  emit(options, answer, () => `${key} is now ${JSON.stringify(value)} (saved; ${when})`);
  return 0;
}
