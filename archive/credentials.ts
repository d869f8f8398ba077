// The archive's S3 keys, read once at start like every other secret file: refused when group or
// others may read it (with the mode and `chmod 600`), sized before it is read (FILE_CAPS.secret).
import { stat } from 'node:fs/promises';
import { readCappedText } from '../common/capped-read.js';
import { HypervisorError } from '../common/errors.js';
import { looseSecretMode } from '../common/file-modes.js';
import { FILE_CAPS, FileTooLargeError } from '../common/limits.js';
import type { S3ArchiveConfig } from '../config/archive.js';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** A key file that is missing, too open, too large or empty: the daemon does not start. */
export class ArchiveCredentialsError extends HypervisorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('archive_credentials', message, options);
  }
}

/** The keys from the two files, or null when the config names none (the SDK's default chain then). */
export async function readS3Credentials(config: S3ArchiveConfig): Promise<S3Credentials | null> {
  if (config.accessKeyIdFile === null || config.secretAccessKeyFile === null) return null;
  return {
    accessKeyId: await readKeyFile('archive.s3.accessKeyIdFile', config.accessKeyIdFile),
    secretAccessKey: await readKeyFile('archive.s3.secretAccessKeyFile', config.secretAccessKeyFile),
  };
}

async function readKeyFile(key: string, file: string): Promise<string> {
  let text: string;
  try {
    const loose = looseSecretMode(key, file, (await stat(file)).mode);
    if (loose !== null) throw new ArchiveCredentialsError(loose);
    text = await readCappedText(file, FILE_CAPS.secret, key);
  } catch (err) {
    if (err instanceof ArchiveCredentialsError) throw err;
    if (err instanceof FileTooLargeError) throw new ArchiveCredentialsError(err.message, { cause: err });
    throw new ArchiveCredentialsError(`${key}: cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  // One line, as `aws configure` and MinIO's console give them; the newline an editor adds is not part of it.
  const value = text.trim();
  if (value === '' || /\s/.test(value)) {
    throw new ArchiveCredentialsError(`${key}: ${file} must hold the key alone on one line, without spaces`);
  }
  return value;
}
