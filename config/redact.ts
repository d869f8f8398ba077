// The running config as `hyper-cli config get` shows it: secrets are kept in files, and the paths of
// those files are shown; a secret value that sits in the config itself -- a password or token in a
// URL (a MongoDB URI, a repo or webhook URL), a key named like a secret -- never leaves the daemon.
import type { Config } from './config.js';

export const REDACTED = '[redacted]';

/** A secret-looking key holds a value; `...File` keys hold a path, which is fine to show. */
const SECRET_KEY = /(secret|password|token|credential|apikey|accesskey)$/i;

export function redactConfig(config: Config): unknown {
  return redact(config, '');
}

/** A value set at a dotted key, as an event or an answer may show it. */
export function redactAt(key: string, value: unknown): unknown {
  return redact(value, key.split('.').at(-1) ?? '');
}

function redact(value: unknown, key: string): unknown {
  if (Array.isArray(value)) return value.map((v) => redact(v, ''));
  if (value instanceof RegExp) return value.source;
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redact(v, k)]));
  }
  if (typeof value !== 'string') return value;
  if (SECRET_KEY.test(key)) return REDACTED;
  return redactUrl(value);
}

/** `scheme://user:password@host/...?token=...`: the password and every query value go. */
function redactUrl(text: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return text;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return text;
  }
  if (url.password === '' && url.search === '') return text;
  if (url.password !== '') url.password = REDACTED;
  for (const name of [...url.searchParams.keys()]) url.searchParams.set(name, REDACTED);
  // Shown as written, not percent-encoded: `[redacted]` reads as what it is.
  return url.toString().replaceAll(encodeURIComponent(REDACTED), REDACTED);
}
