// hyperctl users passwd NAME: sets a new password (asked twice, or read from stdin); the user's
// open sessions end.
import type { UserAnswer } from '../../api/wire.js';
import type { ApiClient } from '../client.js';
import { emit, type OutputOptions } from '../output.js';
import { newPassword } from '../prompt.js';

export async function usersPasswd(client: ApiClient, name: string, options: OutputOptions): Promise<number> {
  const password = await newPassword();
  const { user } = await client.put<{ user: UserAnswer }>(`/users/${encodeURIComponent(name)}`, { password });
  emit(options, user, () => `password of ${user.username} changed; its sessions have ended`);
  return 0;
}
