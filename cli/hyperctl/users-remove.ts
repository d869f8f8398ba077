// hyperctl users remove NAME: removes a hyperuser; its sessions stop working at once.
import type { ApiClient } from '../client.js';
import { emit, type OutputOptions } from '../output.js';

export async function usersRemove(client: ApiClient, name: string, options: OutputOptions): Promise<number> {
  await client.delete(`/users/${encodeURIComponent(name)}`);
  emit(options, { removed: name }, () => `hyperuser ${name} removed`);
  return 0;
}
