// Login tokens: HS256 JWTs (jose), the algorithm pinned on both sides. A token names its session
// (`jti`) and user (`sub`); it is only half the proof: the session record must still exist.
import { randomUUID } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { HypervisorError } from '../../common/errors.js';

const ALG = 'HS256';
// Clocks of one host agree; a few seconds covers a client that signs nothing and a slow request.
const CLOCK_TOLERANCE_S = 5;

export interface TokenSettings {
  secret: Uint8Array;
  issuer: string;
  audience: string;
  ttlMs: number;
}

export interface TokenClaims {
  username: string;
  sessionId: string;
  issuedAt: Date;
  expiresAt: Date;
}

/** A token that is not ours, malformed, expired, or otherwise unusable. The message is for logs. */
export class InvalidTokenError extends HypervisorError {
  constructor(message: string) {
    super('invalid_token', message);
  }
}

export class TokenIssuer {
  readonly #settings: TokenSettings;

  constructor(settings: TokenSettings) {
    if (settings.secret.length < 32)
      throw new RangeError(`the signing secret must be at least 256 bits, got ${settings.secret.length * 8}`);
    this.#settings = settings;
  }

  get ttlMs(): number {
    return this.#settings.ttlMs;
  }

  async issue(username: string, now = new Date()): Promise<{ token: string; claims: TokenClaims }> {
    const { secret, issuer, audience, ttlMs } = this.#settings;
    const iat = Math.floor(now.getTime() / 1000);
    const exp = iat + Math.floor(ttlMs / 1000);
    const sessionId = randomUUID();
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: ALG, typ: 'JWT' })
      .setSubject(username)
      .setIssuer(issuer)
      .setAudience(audience)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .setJti(sessionId)
      .sign(secret);
    return { token, claims: { username, sessionId, issuedAt: new Date(iat * 1000), expiresAt: new Date(exp * 1000) } };
  }

  /** Verifies signature, algorithm, iss, aud, exp and iat (not in the future, not older than the TTL). */
  async verify(token: string): Promise<TokenClaims> {
    const { secret, issuer, audience, ttlMs } = this.#settings;
    try {
      const { payload } = await jwtVerify(token, secret, {
        algorithms: [ALG],
        issuer,
        audience,
        typ: 'JWT',
        requiredClaims: ['exp', 'iat', 'jti', 'sub'],
        maxTokenAge: Math.floor(ttlMs / 1000),
        clockTolerance: CLOCK_TOLERANCE_S,
      });
      return claimsOf(payload as Record<string, unknown>, ttlMs);
    } catch (err) {
      if (err instanceof joseErrors.JOSEError) throw new InvalidTokenError(`${err.code}: ${err.message}`);
      throw err;
    }
  }
}

function claimsOf(payload: Record<string, unknown>, ttlMs: number): TokenClaims {
  const { sub, jti, iat, exp } = payload;
  if (typeof sub !== 'string' || typeof jti !== 'string' || typeof iat !== 'number' || typeof exp !== 'number') {
    throw new InvalidTokenError('sub and jti must be strings, iat and exp numbers');
  }
  // A token we signed never lives longer than the TTL; one that claims to is not ours to honour.
  if (exp - iat > Math.floor(ttlMs / 1000)) throw new InvalidTokenError('exp is further from iat than the token TTL');
  return { username: sub, sessionId: jti, issuedAt: new Date(iat * 1000), expiresAt: new Date(exp * 1000) };
}
