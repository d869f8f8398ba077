// GitHub webhook signatures: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`, keyed
// by the hook's secret. Compared in constant time over fixed-length digests, so neither the timing
// nor the length of an answer tells a forger how close a guess was. The legacy SHA-1 header
// (`X-Hub-Signature`) is never accepted on its own.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { readCappedText } from '../common/capped-read.js';
import { HypervisorError } from '../common/errors.js';
import { looseSecretMode } from '../common/file-modes.js';
import { FILE_CAPS, FileTooLargeError } from '../common/limits.js';

export const SIGNATURE_256_HEADER = 'x-hub-signature-256';
export const SIGNATURE_SHA1_HEADER = 'x-hub-signature';

const SIGNATURE_256 = /^sha256=([0-9a-fA-F]{64})$/;

export type SignatureVerdict = { ok: true } | { ok: false; reason: string };

/** The header value GitHub would send for `body`. */
export function signGithubBody(secret: Uint8Array | string, body: Uint8Array | string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Checks the `X-Hub-Signature-256` header value against the exact bytes received. */
export function verifyGithubSignature(
  secret: Uint8Array,
  body: Uint8Array,
  header: string | undefined,
  sha1Header?: string,
): SignatureVerdict {
  if (header === undefined || header === '') {
    return {
      ok: false,
      reason: sha1Header
        ? 'only a sha1 X-Hub-Signature was sent; X-Hub-Signature-256 is required'
        : 'X-Hub-Signature-256 is missing',
    };
  }
  const match = SIGNATURE_256.exec(header);
  if (!match) return { ok: false, reason: 'X-Hub-Signature-256 must be sha256= followed by 64 hex digits' };
  const expected = createHmac('sha256', secret).update(body).digest();
  const given = Buffer.from(match[1]!, 'hex');
  return timingSafeEqual(expected, given)
    ? { ok: true }
    : { ok: false, reason: 'X-Hub-Signature-256 does not match the body' };
}

export class WebhookSecretError extends HypervisorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('webhook_secret', message, options);
  }
}

/** The secret as GitHub has it: the file's text without the trailing newline an editor adds. */
export async function readWebhookSecret(file: string): Promise<Buffer> {
  let text: string;
  try {
    const loose = looseSecretMode('github.secretFile', file, (await stat(file)).mode);
    if (loose !== null) throw new WebhookSecretError(loose);
    text = await readCappedText(file, FILE_CAPS.secret, 'github.secretFile');
  } catch (err) {
    if (err instanceof WebhookSecretError) throw err;
    if (err instanceof FileTooLargeError) throw new WebhookSecretError(err.message, { cause: err });
    throw new WebhookSecretError(`github.secretFile: cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  const secret = text.replace(/\r?\n$/, '');
  if (secret.trim().length < 16) {
    throw new WebhookSecretError(
      `github.secretFile: ${file} must hold the webhook secret, at least 16 characters (it has ` +
        `${secret.trim().length})`,
    );
  }
  return Buffer.from(secret, 'utf8');
}
