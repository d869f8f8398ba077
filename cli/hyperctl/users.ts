// hyperctl users VERB [NAME]: picks the verb's file (add, list, remove, passwd); a verb that needs a
// NAME and has none, or an unknown verb, is a usage error.
import type { ApiClient } from '../client.js';
import { UsageError, type OutputOptions } from '../output.js';
import { rolesOf, usersAdd } from './users-add.js';
import { usersList } from './users-list.js';
import { usersPasswd } from './users-passwd.js';
import { usersRemove } from './users-remove.js';

export function users(
  client: ApiClient,
  verb: string,
  name: string | undefined,
  options: OutputOptions & { role?: unknown },
): Promise<number> {
  const needName = (): string => {
    if (name === undefined) throw new UsageError(`hyperctl users ${verb} needs a NAME`);
    return String(name);
  };
  switch (verb) {
    case 'add':
      return usersAdd(client, { name: needName(), roles: rolesOf(options.role) }, options);
    case 'list':
      return usersList(client, options);
    case 'remove':
      return usersRemove(client, needName(), options);
    case 'passwd':
      return usersPasswd(client, needName(), options);
    default:
      throw new UsageError(`unknown users verb ${JSON.stringify(verb)}: add, list, remove or passwd`);
  }
}
