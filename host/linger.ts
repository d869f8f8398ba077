// Lingering: systemd-logind keeps a user's manager (and so the colors, and a user-scope daemon)
// running while that user is not logged in, and starts it at boot. Without it a logout stops them.
import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const LINGER_DIR = '/var/lib/systemd/linger';
const LOGINCTL_TIMEOUT_MS = 15_000;

export type LingerResult = { state: 'already' } | { state: 'enabled' } | { state: 'unavailable'; error: string };

export function currentUser(): string {
  return os.userInfo().username;
}

/** logind marks a lingering user with a file named after them. */
export async function isLingering(user: string): Promise<boolean> {
  return access(path.join(LINGER_DIR, user)).then(
    () => true,
    () => false,
  );
}

/** Enables lingering unless it is on; a host without logind (a container) says why it cannot. */
export async function ensureLinger(user: string): Promise<LingerResult> {
  if (await isLingering(user)) return { state: 'already' };
  const error = await loginctl(['enable-linger', user]);
  if (error !== null) return { state: 'unavailable', error };
  return { state: 'enabled' };
}

/** The fix an operator can run by hand. */
export function lingerFix(user: string): string {
  return (
    `run \`loginctl enable-linger ${user}\` on a host with systemd-logind (otherwise the user ` +
    `manager and the colors stop when ${user} logs out, and do not start at boot)`
  );
}

function loginctl(args: string[]): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(
      'loginctl',
      args,
      {
        timeout: LOGINCTL_TIMEOUT_MS,
        killSignal: 'SIGKILL',
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' },
      },
      (err, _stdout, stderr) => {
        if (!err) return resolve(null);
        resolve((stderr.trim().split('\n').at(-1) ?? '') || err.message);
      },
    );
  });
}
