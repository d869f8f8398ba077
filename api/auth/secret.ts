// The token signing secret: 512 random bits, generated at first start into a 0600 file and read
// from it afterwards, so tokens survive a daemon restart. Its content is never logged or returned.
import { randomBytes } from 'node:crypto';
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { createFileAtomic } from '../../common/atomic-write.js';
import { readCappedText } from '../../common/capped-read.js';
import { HypervisorError } from '../../common/errors.js';
import { looseSecretMode } from '../../common/file-modes.js';
import { FILE_CAPS } from '../../common/limits.js';
import { guardWrite } from '../../common/write-failure.js';

const SECRET_BYTES = 64;
const MIN_SECRET_BYTES = 32;

/** The secret file cannot be used (unreadable, too short, readable by others). */
export class SecretFileError extends HypervisorError {
  constructor(message: string) {
    super('secret_file', message);
  }
}

/** Reads the secret, creating it first when the file does not exist. */
export async function loadOrCreateSecret(file: string): Promise<Uint8Array> {
  const existing = await readSecret(file);
  if (existing) return existing;
  await createSecret(file);
  const created = await readSecret(file);
  if (!created) throw new SecretFileError(`auth.secretFile ${file} vanished right after it was created`);
  return created;
}

async function readSecret(file: string): Promise<Uint8Array | null> {
  const info = await stat(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw new SecretFileError(`auth.secretFile ${file}: ${err.message}`);
  });
  if (!info) return null;
  const loose = looseSecretMode('auth.secretFile', file, info.mode);
  if (loose !== null) throw new SecretFileError(loose);
  const text = (await readCappedText(file, FILE_CAPS.secret, 'auth.secretFile')).trim();
  const secret = Buffer.from(text, 'base64url');
  if (secret.length < MIN_SECRET_BYTES) {
    throw new SecretFileError(
      `auth.secretFile ${file} holds ${secret.length * 8} bits; at least ${MIN_SECRET_BYTES * 8} ` +
        'are needed (delete it to generate a new one)',
    );
  }
  return new Uint8Array(secret);
}

/**
 * 0600 from the start, fsynced; another daemon start that created it first wins: its secret is just as good.
 * A disk that refuses the write rejects with WriteFailedError naming the path and the cause.
 */
async function createSecret(file: string): Promise<void> {
  const dir = path.dirname(file);
  await guardWrite(dir, () => mkdir(dir, { recursive: true, mode: 0o700 }));
  await createFileAtomic(file, `${randomBytes(SECRET_BYTES).toString('base64url')}\n`, { mode: 0o600 });
}
