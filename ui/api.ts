// The dashboard's calls to the API: same origin, the session in an HttpOnly cookie the script never
// sees, and the session's CSRF token (held in memory only) on every request that changes something.
// A 401 anywhere means the session ended (logout elsewhere, expiry, user removed): the app hears it.
import type { CookieLoginAnswer, MeAnswer } from '../api/wire.js';

export const API = '/hypervisor';

/** An API refusal, with the error code and message the daemon answered. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrfToken: string | null = null;
const endedListeners = new Set<() => void>();

/** Called when any answer says the session is over. */
export function onSessionEnded(listener: () => void): () => void {
  endedListeners.add(listener);
  return () => endedListeners.delete(listener);
}

/** A body to send: JSON (an object) or YAML text. */
export type Body = { json: unknown } | { yaml: string };

export async function call<T>(method: string, route: string, body?: Body): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method !== 'GET' && csrfToken !== null) headers['x-csrf-token'] = csrfToken;
  let payload: string | undefined;
  if (body && 'json' in body) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body.json);
  } else if (body) {
    headers['content-type'] = 'application/yaml';
    payload = body.yaml;
  }
  const res = await fetch(`${API}${route}`, { method, headers, body: payload, credentials: 'same-origin' });
  if (res.status === 401 && route !== '/auth/login') sessionEnded();
  if (!res.ok) throw await refusal(res);
  if (res.status === 204) return undefined as T;
  const type = res.headers.get('content-type') ?? '';
  return (type.includes('json') ? await res.json() : await res.text()) as T;
}

async function refusal(res: Response): Promise<ApiError> {
  const text = await res.text();
  try {
    const { error } = JSON.parse(text) as { error: { code: string; message: string } };
    return new ApiError(res.status, error.code, error.message);
  } catch {
    return new ApiError(res.status, 'http_error', `${res.status} ${res.statusText}: ${text.slice(0, 200)}`);
  }
}

export function sessionEnded(): void {
  csrfToken = null;
  for (const listener of endedListeners) listener();
}

export interface Session {
  username: string;
  roles: MeAnswer['roles'];
  expiresAt: string | null;
}

export async function login(username: string, password: string): Promise<Session> {
  const answer = await call<CookieLoginAnswer>('POST', '/auth/login', { json: { username, password, cookie: true } });
  csrfToken = answer.csrfToken;
  return { username: answer.username, roles: answer.roles, expiresAt: answer.expiresAt };
}

/** The session the cookie still holds after a reload, or null when there is none. */
export async function resume(): Promise<Session | null> {
  const res = await fetch(`${API}/auth/me`, { headers: { accept: 'application/json' }, credentials: 'same-origin' });
  if (res.status === 401) return null;
  if (!res.ok) throw await refusal(res);
  const me = (await res.json()) as MeAnswer;
  csrfToken = me.csrfToken ?? null;
  return { username: me.username, roles: me.roles, expiresAt: me.expiresAt };
}

export async function logout(): Promise<void> {
  try {
    await call('POST', '/auth/logout');
  } finally {
    csrfToken = null;
  }
}
