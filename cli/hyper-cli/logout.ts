// hyper-cli logout: ends the session on the server and forgets the cached token, when the cached
// token belongs to the server in use.
import type { ApiClient } from '../client.js';
import { ApiError } from '../client.js';
import { emit, type OutputOptions } from '../output.js';
import { removeSession } from '../session.js';

/**
 * `loggedIn`: the cached token was issued by this client's server. Otherwise the cache (a session
 * with another server, `keptFor`) is left alone: removing it would strand that session unended.
 */
export async function logout(
  client: ApiClient,
  loggedIn: boolean,
  options: OutputOptions,
  keptFor?: string,
): Promise<number> {
  if (loggedIn) await endSession(client);
  emit(options, { loggedOut: loggedIn }, () => {
    if (loggedIn) return 'logged out';
    return keptFor ? `not logged in to this server; the session with ${keptFor} is kept` : 'not logged in';
  });
  return 0;
}

async function endSession(client: ApiClient): Promise<void> {
  try {
    await client.post('/auth/logout');
  } catch (err) {
    // 401: the session had already ended; the cached token is worthless either way.
    if (!(err instanceof ApiError && err.status === 401)) throw err;
  } finally {
    await removeSession();
  }
}
