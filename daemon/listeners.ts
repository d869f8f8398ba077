// The daemon's own listeners, opened with a message an operator can act on when they cannot be:
// a port or socket that is taken is most often a hypervisor that still runs (a second `npm start`,
// a daemon started by hand beside its unit), so the message says so and how to find it.
import { chmod, mkdir, rm } from 'node:fs/promises';
import type http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { guardWrite } from '../common/write-failure.js';
import { ListenError } from '../proxy/errors.js';
import type { Router } from '../proxy/router.js';
import { listen } from '../proxy/server.js';
import type { Loop } from '../reconciler/loop.js';
import { StartupError } from './startup-error.js';

const SOCKET_PROBE_MS = 1_000;

/** Listens on host:port; `key` (listen.public, ...) names the config key to change in the message. */
export async function listenOrExplain(
  server: http.Server,
  host: string,
  port: number,
  key: string,
): Promise<AddressInfo> {
  try {
    return await listen(server, host, port);
  } catch (err) {
    const why =
      err instanceof ListenError && err.errno === 'EADDRINUSE'
        ? `${host}:${port} is taken: another process listens there, perhaps a hypervisor that is still running ` +
          `(\`ss -ltnp 'sport = :${port}'\` shows which); stop it, or give ${key} another port`
        : (err as Error).message;
    throw new StartupError(`${key}: ${why}`, { cause: err });
  }
}

/** The admin socket serves the API without auth: only its owner may open it (mode 0600). */
export async function listenAdmin(server: http.Server, socketPath: string): Promise<void> {
  const dir = path.dirname(socketPath);
  await guardWrite(dir, () => mkdir(dir, { recursive: true, mode: 0o700 }));
  // A socket file nobody answers on is what a crashed daemon leaves: replace it. One that answers is not ours to take.
  if (await socketAnswers(socketPath)) {
    throw new StartupError(
      `listen.admin: ${socketPath} is taken: another process listens there, perhaps a hypervisor ` +
        'that is still running; ' +
        'stop it, or give listen.admin another path',
    );
  }
  await rm(socketPath, { force: true });
  const previous = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    throw new StartupError(`listen.admin: cannot listen on ${socketPath}: ${(err as Error).message}`, { cause: err });
  } finally {
    process.umask(previous);
  }
  await chmod(socketPath, 0o600);
}

function socketAnswers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ path: socketPath });
    const done = (answers: boolean): void => {
      socket.destroy();
      resolve(answers);
    };
    socket.setTimeout(SOCKET_PROBE_MS, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Until the reconciler's first pass has routed traffic as the host stands (at most `maxMs`), a
 * request that finds no color waits for it: a restarted daemon answers no 503 for a color that is Ready.
 */
export function holdUntilFirstPass(router: Router, reconciler: Loop, maxMs: number): void {
  const firstPass = new Promise<void>((resolve) => {
    const off = reconciler.onPassFinished(() => resolve(off()));
  });
  router.holdUntil(firstPass, maxMs);
}
