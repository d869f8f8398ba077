// The secrets of notification targets (a Slack URL, an HMAC key, an SMTP password): read once at
// start from files only their owner may read, like every other secret of the daemon (ssh's rule:
// a secret others can read is refused, naming the key, the file, its mode and the fix).
import { stat } from 'node:fs/promises';
import { readCappedText } from '../common/capped-read.js';
import { HypervisorError } from '../common/errors.js';
import { looseSecretMode } from '../common/file-modes.js';
import { FILE_CAPS } from '../common/limits.js';

/** A target's config cannot be used (a secret missing, readable by others, or not what it must be). */
export class NotifyConfigError extends HypervisorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('notify_config', message, options);
  }
}

/** The file's text without the trailing newline an editor adds; `key` names the config key in errors. */
export async function readSecret(key: string, file: string): Promise<string> {
  let text: string;
  try {
    const loose = looseSecretMode(key, file, (await stat(file)).mode);
    if (loose !== null) throw new NotifyConfigError(loose);
    text = await readCappedText(file, FILE_CAPS.secret, key);
  } catch (err) {
    if (err instanceof NotifyConfigError) throw err;
    throw new NotifyConfigError(`${key}: cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  const secret = text.replace(/\r?\n$/, '');
  if (secret.trim() === '') throw new NotifyConfigError(`${key}: ${file} is empty`);
  return secret;
}

/** A URL kept in a secret file (a Slack incoming webhook): http(s), one line. */
export async function readSecretUrl(key: string, file: string): Promise<URL> {
  const text = (await readSecret(key, file)).trim();
  let url: URL | null = null;
  try {
    url = new URL(text);
  } catch {
    url = null;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    // The content is a secret: the message names the file, never what is in it.
    throw new NotifyConfigError(`${key}: ${file} must hold one http(s) URL`);
  }
  return url;
}
