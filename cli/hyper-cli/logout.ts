// hyper-cli logout: ends the session on the server and forgets the cached token.
import type { ApiClient } from '../client.js';
import { ApiError } from '../client.js';
import { emit, type OutputOptions } from '../output.js';
import { removeSession } from '../session.js';

export async function logout(client: ApiClient, loggedIn: boolean, options: OutputOptions): Promise<number> {
  try {
    if (loggedIn) await client.post('/auth/logout');
  } catch (err) {
    // 401: the session had already ended; the cached token is worthless either way.
    if (!(err instanceof ApiError && err.status === 401)) throw err;
  } finally {
    await removeSession();
  }
  emit(options, { loggedOut: true }, () => (loggedIn ? 'logged out' : 'not logged in'));
  return 0;
}
