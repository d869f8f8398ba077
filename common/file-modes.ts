// Who may read what the hypervisor writes. Password hashes, sessions and secrets are the user's
// alone (0700 folders, 0600 files); logs may be shared with an operators' group but never with
// every local user (0750 / 0640). Only files and folders this process creates or owns are changed.
import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;
export const LOG_DIR_MODE = 0o750;
export const LOG_FILE_MODE = 0o640;

/**
 * Creates `dir` and its missing parents with `mode`. An existing folder keeps its mode unless
 * `narrow` is set, which takes away the bits `mode` does not allow (for folders that are ours alone,
 * like `<root>/logs`; never for a shared parent such as /var/lib).
 */
export function ensureDir(dir: string, mode: number, options: { narrow?: boolean } = {}): void {
  mkdirSync(dir, { recursive: true, mode });
  if (options.narrow) narrowMode(dir, mode);
}

/**
 * Creates an empty file with `mode` when there is none (its folder must exist), and narrows an
 * existing one to it. For files another program fills (SQLite, systemd's `append:`), which would
 * otherwise create them with their own default of 0644.
 */
export function ensureFile(file: string, mode: number): void {
  closeSync(openSync(file, 'a', mode));
  narrowMode(file, mode);
}

/** Takes away the permission bits `mode` does not allow; a missing path is left alone. */
export function narrowMode(target: string, mode: number): void {
  let current: number;
  try {
    current = statSync(target).mode & 0o777;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if ((current & ~mode) !== 0) chmodSync(target, current & mode);
}

/** `0644` for messages: the permission bits as ls and chmod write them. */
export function octalMode(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
}

/**
 * Like ssh with a private key: a secret others can read is no longer a secret, so the daemon
 * refuses to start with it. The message names the key, the file, its mode and the fix; null when
 * the mode is fine.
 */
export function looseSecretMode(key: string, file: string, mode: number): string | null {
  if ((mode & 0o077) === 0) return null;
  return (
    `${key} ${file} has mode ${octalMode(mode)}, readable by ` +
    `${mode & 0o007 ? 'others' : 'its group'}: a secret must be readable by its owner only; fix: chmod 600 ${file}`
  );
}
