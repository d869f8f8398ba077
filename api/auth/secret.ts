// The token signing secret: 512 random bits, generated at first start into a 0600 file and read
// from it afterwards, so tokens survive a daemon restart. Its content is never logged or returned.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { readCappedText } from '../../common/capped-read.js';
import { HypervisorError } from '../../common/errors.js';
import { looseSecretMode } from '../../common/file-modes.js';
import { FILE_CAPS } from '../../common/limits.js';

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

/** Temp file (0600 from the start), fsync, then a link that fails if another process won the race. */
async function createSecret(file: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    await handle.writeFile(`${randomBytes(SECRET_BYTES).toString('base64url')}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await linkExclusive(temp, file);
  } finally {
    await rm(temp, { force: true });
  }
}

async function linkExclusive(temp: string, file: string): Promise<void> {
  try {
    await link(temp, file);
  } catch (err) {
    // Another daemon start created it first: keep theirs, it is just as good.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return;
    // Some filesystems have no hard links; there a plain rename is the best we can do.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
    await rename(temp, file);
  }
}
