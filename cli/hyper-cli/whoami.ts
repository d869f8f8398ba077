// hyper-cli whoami: the hyperuser the cached token belongs to, its roles, and until when.
import type { MeAnswer } from '../../api/wire.js';
import type { ApiClient } from '../client.js';
import { emit, type OutputOptions } from '../output.js';

export async function whoami(client: ApiClient, options: OutputOptions): Promise<number> {
  const me = await client.get<MeAnswer>('/auth/me');
  emit(
    options,
    me,
    () => `${me.username} (${me.roles.join(', ')})${me.expiresAt ? `, session until ${me.expiresAt}` : ''}`,
  );
  return 0;
}
