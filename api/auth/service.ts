// Login, logout and token checks against the store. A request is authenticated only when its
// token verifies AND its session record still exists (logout deletes it; the store never returns
// an expired one) AND its user still exists and has not changed since the login.
import { describeValue } from '../../common/describe.js';
import { ValidationError } from '../../common/errors.js';
import type { Hyperuser } from '../../common/types.js';
import type { AuthConfig } from '../../config/config.js';
import type { Store } from '../../store/store.js';
import { HttpError } from '../http-error.js';
import type { LoginAnswer } from '../wire.js';
import { LoginLockout } from './lockout.js';
import { normalizePassword, type PasswordHasher } from './password.js';
import type { CsrfTokens } from './csrf.js';
import type { Principal } from './principal.js';
import { InvalidTokenError, type TokenIssuer } from './tokens.js';

export type AuthStore = Pick<
  Store,
  | 'getUser'
  | 'updateUser'
  | 'createSession'
  | 'getSession'
  | 'deleteSession'
  | 'purgeExpiredSessions'
  | 'getLoginLockout'
  | 'updateLoginLockout'
>;

export const USERNAME = /^[a-z0-9][a-z0-9_.-]{0,63}$/;

export interface AuthServiceOptions {
  store: AuthStore;
  hasher: PasswordHasher;
  tokens: TokenIssuer;
  lockout: AuthConfig['lockout'];
  csrf: CsrfTokens;
}

/** A login's answer, and its session id (for the dashboard's CSRF token; never on the wire). */
export interface LoggedIn {
  answer: LoginAnswer;
  sessionId: string;
}

const WRONG = 'wrong username or password';

export class AuthService {
  readonly hasher: PasswordHasher;
  readonly #store: AuthStore;
  readonly #tokens: TokenIssuer;
  readonly #lockout: LoginLockout;
  readonly csrf: CsrfTokens;

  constructor(options: AuthServiceOptions) {
    this.#store = options.store;
    this.csrf = options.csrf;
    this.hasher = options.hasher;
    this.#tokens = options.tokens;
    this.#lockout = new LoginLockout(options.lockout, options.store);
    // Made now, so that the first login for an unknown name costs one hash, like any other.
    void this.hasher.dummyHash().catch(() => undefined);
  }

  /**
   * Unknown user and wrong password: the same 401, after the same one hash. A good login stores its
   * session and its LoggedIn event in one write; a failure stores its count (and the lock event).
   */
  async login(rawUsername: string, rawPassword: string, address: string): Promise<LoggedIn> {
    const username = parseUsername(rawUsername.toLowerCase());
    const password = normalizePassword(rawPassword);
    await this.#reserveAttempt(username);
    try {
      const user = await this.#store.getUser(username);
      const ok = await this.hasher.verify(password, user?.passwordHash ?? (await this.hasher.dummyHash()));
      if (!user || !ok) return await this.#failed(username, address);
      // Other attempts may have locked the name while this one hashed: a lock refuses the right password too.
      await this.#refuseIfLocked(username);
      await this.#lockout.succeed(username);
      await this.#rehashIfOld(user, password);
      return await this.#startSession(user, address);
    } finally {
      // After the outcome is stored: a reservation never sees the count without this attempt in it.
      this.#lockout.release(username);
    }
  }

  /** Ends the session, with a LoggedOut event in the same write. */
  async logout(principal: Principal): Promise<boolean> {
    if (principal.sessionId === null) return false;
    return this.#store.deleteSession(principal.sessionId, [
      { reason: 'LoggedOut', message: `${principal.username} logged out`, actor: principal.username },
    ]);
  }

  /** `via` says how the token came: a Bearer header (hyper-cli) or the dashboard's cookie. */
  async authenticate(token: string, via: 'token' | 'cookie' = 'token'): Promise<Principal> {
    const claims = await this.#tokens.verify(token).catch((err: unknown) => {
      if (err instanceof InvalidTokenError) throw unauthorized(`invalid token (${err.message}); log in again`);
      throw err;
    });
    const session = await this.#store.getSession(claims.sessionId);
    if (!session || session.username !== claims.username || Date.parse(session.expiresAt) <= Date.now()) {
      throw unauthorized('the session has ended (logged out or expired); log in again');
    }
    const user = await this.#store.getUser(claims.username);
    if (!user) throw unauthorized(`hyperuser ${claims.username} no longer exists`);
    // A password or role change ends the sessions opened before it (the store keeps no per-user index to delete them).
    if (Date.parse(session.createdAt) < Date.parse(user.updatedAt)) {
      throw unauthorized(`hyperuser ${user.username} was changed after this login; log in again`);
    }
    return {
      username: user.username,
      roles: [...user.roles],
      via,
      sessionId: session.id,
      expiresAt: session.expiresAt,
    };
  }

  async #reserveAttempt(username: string): Promise<void> {
    const state = await this.#lockout.reserve(username);
    if (state.locked) throw lockedOut(state.retryAfterMs);
  }

  async #refuseIfLocked(username: string): Promise<void> {
    const state = await this.#lockout.check(username);
    if (state.locked) throw lockedOut(state.retryAfterMs);
  }

  async #failed(username: string, address: string): Promise<never> {
    const outcome = await this.#lockout.fail(username, ({ failures, lockedForMs }) =>
      lockedForMs === null
        ? []
        : [
            {
              reason: 'LoginLockedOut',
              message:
                `logins as ${username} are refused for ${Math.ceil(lockedForMs / 1000)}s ` +
                `after ${failures} failures in a row`,
              actor: 'auth',
              data: { username, failures, lockedForMs, address },
            },
          ],
    );
    if (outcome.lockedForMs === null) throw new HttpError(401, 'invalid_credentials', WRONG);
    throw lockedOut(outcome.lockedForMs);
  }

  async #rehashIfOld(user: Hyperuser, password: string): Promise<void> {
    if (!this.hasher.needsRehash(user.passwordHash)) return;
    await this.#store.updateUser(user.username, { passwordHash: await this.hasher.hash(password) });
  }

  async #startSession(user: Hyperuser, address: string): Promise<LoggedIn> {
    const { token, claims } = await this.#tokens.issue(user.username);
    // createdAt is the real instant, not the whole-second iat: it is compared with the user's updatedAt.
    const session = {
      id: claims.sessionId,
      username: user.username,
      createdAt: new Date().toISOString(),
      expiresAt: claims.expiresAt.toISOString(),
    };
    await this.#store.createSession(session, [
      {
        reason: 'LoggedIn',
        message: `${user.username} logged in from ${address}`,
        actor: user.username,
        data: { address },
      },
    ]);
    // The embedded store has no TTL index: a login is a good moment to sweep, as it adds a row.
    await this.#store.purgeExpiredSessions();
    const answer: LoginAnswer = {
      token,
      tokenType: 'Bearer',
      expiresAt: claims.expiresAt.toISOString(),
      username: user.username,
      roles: [...user.roles],
    };
    return { answer, sessionId: claims.sessionId };
  }
}

export function parseUsername(value: string, field = 'username'): string {
  if (!USERNAME.test(value)) {
    throw new ValidationError(
      field,
      'must be 1 to 64 of a-z, 0-9, "_", ".", "-", starting with a letter or digit, got ' + `${describeValue(value)}`,
    );
  }
  return value;
}

function unauthorized(message: string): HttpError {
  return new HttpError(401, 'unauthorized', message, { 'WWW-Authenticate': 'Bearer realm="hypervisor"' });
}

function lockedOut(retryAfterMs: number): HttpError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new HttpError(429, 'locked_out', `too many failed logins for this account; try again in ${seconds}s`, {
    'Retry-After': String(seconds),
  });
}
