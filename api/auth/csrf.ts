// CSRF tokens for cookie sessions: an HMAC of the session id under a key derived from the token
// signing secret, so a token is bound to one session, needs no storage, and ends with it. Another
// site can make a browser send the cookie (not with SameSite=Strict, but defence in depth) yet
// cannot read the token: it comes only in the login answer and in GET /auth/me, both same-origin.
import { createHmac, timingSafeEqual } from 'node:crypto';

export class CsrfTokens {
  readonly #key: Buffer;

  constructor(secret: Uint8Array) {
    // A key of its own: a CSRF token is never a valid signature of anything else made with the secret.
    this.#key = createHmac('sha256', secret).update('hypervisor csrf v1').digest();
  }

  tokenFor(sessionId: string): string {
    return createHmac('sha256', this.#key).update(sessionId).digest('base64url');
  }

  /** Constant-time comparison with the token of `sessionId`. */
  verify(sessionId: string, offered: string | undefined): boolean {
    if (offered === undefined) return false;
    const expected = Buffer.from(this.tokenFor(sessionId));
    const given = Buffer.from(offered);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}
