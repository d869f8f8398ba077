// hyperctl users add NAME --role ROLE: creates a hyperuser; the password is asked twice on a
// terminal, or read from stdin.
import type { UserAnswer } from '../../api/wire.js';
import type { ApiClient } from '../client.js';
import { emit, UsageError, type OutputOptions } from '../output.js';
import { newPassword } from '../prompt.js';

export interface UsersAddArgs {
  name: string;
  /** `--role operator`, repeated or comma-separated. */
  roles: string[];
}

export async function usersAdd(client: ApiClient, args: UsersAddArgs, options: OutputOptions): Promise<number> {
  if (args.roles.length === 0) throw new UsageError('give --role viewer, operator or admin');
  const password = await newPassword();
  const { user } = await client.post<{ user: UserAnswer }>('/users', {
    username: args.name,
    password,
    roles: args.roles,
  });
  emit(options, user, () => `hyperuser ${user.username} created (${user.roles.join(', ')})`);
  return 0;
}

/** `--role a --role b,c` -> [a, b, c]. */
export function rolesOf(value: unknown): string[] {
  const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return list
    .flatMap((item) => String(item).split(','))
    .map((role) => role.trim())
    .filter(Boolean);
}
