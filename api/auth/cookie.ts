// The dashboard's session cookie. A browser's EventSource cannot send an Authorization header, so
// the dashboard carries the same session token as hyper-cli in a cookie the page's script cannot
// read (HttpOnly), that no other site's request carries (SameSite=Strict) and that only the API
// sees (Path=/hypervisor); Secure when the listener speaks TLS. Cookie-authenticated requests that
// change state must also carry the session's CSRF token (api/auth/csrf.ts).
import type { Request } from 'express';

export const SESSION_COOKIE = 'hv_session';

/** The header a cookie-authenticated state-changing request carries its CSRF token in. */
export const CSRF_HEADER = 'x-csrf-token';

const TOKEN = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;

/** The session token from the request's Cookie header, or null when it has none (or a malformed one). */
export function sessionCookie(req: Request): string | null {
  const header = req.get('cookie');
  if (header === undefined) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    const value = part.slice(eq + 1).trim();
    return TOKEN.test(value) ? value : null;
  }
  return null;
}

/** Set-Cookie for a new session, living as long as its token. */
export function setSessionCookie(token: string, expiresAt: string, secure: boolean): string {
  const maxAge = Math.max(0, Math.floor((Date.parse(expiresAt) - Date.now()) / 1000));
  return cookie(token, maxAge, secure);
}

/** Set-Cookie that makes the browser forget the session (logout, or a session that has ended). */
export function clearSessionCookie(secure: boolean): string {
  return cookie('', 0, secure);
}

function cookie(value: string, maxAge: number, secure: boolean): string {
  const attributes = [`${SESSION_COOKIE}=${value}`, 'Path=/hypervisor', `Max-Age=${maxAge}`, 'HttpOnly'];
  attributes.push('SameSite=Strict');
  if (secure) attributes.push('Secure');
  return attributes.join('; ');
}
