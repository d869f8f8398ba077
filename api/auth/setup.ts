// Builds the auth pieces from the config's `auth` section: the signing secret (created at first
// start), the password hasher, tokens, login lockout, and user administration.
import type { AuthConfig } from '../../config/config.js';
import type { Store } from '../../store/store.js';
import { CsrfTokens } from './csrf.js';
import { PasswordHasher } from './password.js';
import { loadOrCreateSecret } from './secret.js';
import { AuthService } from './service.js';
import { TokenIssuer } from './tokens.js';
import { UserAdmin } from './users.js';

export async function createAuth(config: AuthConfig, store: Store): Promise<{ auth: AuthService; users: UserAdmin }> {
  const secret = await loadOrCreateSecret(config.secretFile);
  const hasher = new PasswordHasher();
  const tokens = new TokenIssuer({
    secret,
    issuer: config.issuer,
    audience: config.audience,
    ttlMs: config.tokenTtlMs,
  });
  return {
    auth: new AuthService({ store, hasher, tokens, lockout: config.lockout, csrf: new CsrfTokens(secret) }),
    users: new UserAdmin(store, hasher),
  };
}
