// hyperctl users list: every hyperuser with its roles.
import type { UserAnswer } from '../../api/wire.js';
import type { ApiClient } from '../client.js';
import { emit, table, type OutputOptions } from '../output.js';

export async function usersList(client: ApiClient, options: OutputOptions): Promise<number> {
  const { users } = await client.get<{ users: UserAnswer[] }>('/users');
  emit(options, users, () =>
    table(
      users,
      'no hyperusers yet: hyperctl users add NAME --role operator',
      'USER                 ROLES                     CHANGED',
      (u) => `${u.username.padEnd(21)}${u.roles.join(',').padEnd(26)}${u.updatedAt}`,
    ),
  );
  return 0;
}
