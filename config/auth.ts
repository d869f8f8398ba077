// The auth: section: login tokens (their lifetime, secret, issuer and audience) and the lockout after
// failed logins.
import path from 'node:path';
import { ValidationError } from '../common/errors.js';
import { describeValue } from '../common/describe.js';
import { matching, type ObjectReader } from './reader.js';

export interface AuthConfig {
  /** Lifetime of a login token and its session; 1m to 1h. @default 15m */
  tokenTtlMs: number;
  /** The JWT signing secret, generated at first start (mode 0600). @default <root>/auth/jwt-secret */
  secretFile: string;
  /** @default 'openhack-hypervisor' */
  issuer: string;
  /** @default 'openhack-hypervisor' */
  audience: string;
  lockout: {
    /** Failed logins in a row before an account is locked. @default 10 */
    threshold: number;
    /** The first lock's length; each further lock doubles it. @default 30s */
    baseMs: number;
    /** The longest lock. @default 1h */
    maxMs: number;
  };
}

const TOKEN_TTL_MIN_MS = 60_000;
const TOKEN_TTL_MAX_MS = 3_600_000;

export function readAuth(r: ObjectReader, resolve: (p: string) => string, root: string): AuthConfig {
  const tokenTtlMs = r.durationMs('tokenTtl', '15m');
  // Tokens are bearer credentials: short-lived by construction, never "remember me for a month".
  if (tokenTtlMs < TOKEN_TTL_MIN_MS || tokenTtlMs > TOKEN_TTL_MAX_MS) {
    throw new ValidationError(r.keyPath('tokenTtl'), `must be from 1m to 1h, got ${describeValue(r.raw('tokenTtl'))}`);
  }
  const secretFile = r.optionalString('secretFile');
  const auth: AuthConfig = {
    tokenTtlMs,
    secretFile: secretFile === null ? path.join(root, 'auth', 'jwt-secret') : resolve(secretFile),
    issuer: matching(r, 'issuer', /^[\x21-\x7e]{1,200}$/, 'openhack-hypervisor'),
    audience: matching(r, 'audience', /^[\x21-\x7e]{1,200}$/, 'openhack-hypervisor'),
    lockout: readLockout(r.child('lockout')),
  };
  r.rejectUnknown();
  return auth;
}

function readLockout(r: ObjectReader): AuthConfig['lockout'] {
  const lockout = {
    threshold: r.integer('threshold', 10, 1, 1000),
    baseMs: r.durationMs('base', '30s'),
    maxMs: r.durationMs('max', '1h'),
  };
  if (lockout.baseMs < 1000)
    throw new ValidationError(r.keyPath('base'), `must be at least 1s, got ${describeValue(r.raw('base'))}`);
  if (lockout.maxMs < lockout.baseMs) {
    throw new ValidationError(
      r.keyPath('max'),
      `must be at least lockout.base (${describeValue(r.raw('base') ?? '30s')}), got ${describeValue(r.raw('max'))}`,
    );
  }
  r.rejectUnknown();
  return lockout;
}
