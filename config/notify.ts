// The `notify:` section (issue 14): a list of targets, each `{ name, kind, on: [...] }` and what its
// kind needs. Checked key by key like the rest of the config; the secret files are read (and their
// modes checked) when the daemon starts, by notify/.
import { ValidationError } from '../common/errors.js';
import { describeValue } from '../common/describe.js';
import {
  isNotificationKind,
  NOTIFICATION_KINDS,
  NOTIFY_TARGET_KINDS,
  type NotificationKind,
} from '../common/notifications.js';
import { ObjectReader } from './reader.js';

/** How an SMTP connection is secured: TLS from the first byte (465), STARTTLS required (587), or none. */
export type SmtpTls = 'tls' | 'starttls' | 'none';

export interface SmtpConfig {
  host: string;
  /** @default 465 with tls: tls, else 587 */
  port: number;
  /** @default 'tls' on port 465, else 'starttls' */
  tls: SmtpTls;
  /** Null: no AUTH (a relay that knows this host). */
  user: string | null;
  /** Required with `user`; mode 0600. */
  passwordFile: string | null;
  /** PEM of the CA that signed the server's certificate, for a private CA. @default null (the system's) */
  caFile: string | null;
}

interface TargetBase {
  name: string;
  on: NotificationKind[];
  /** Repeated problems about one subject within this long collapse into one message. @default 10m */
  quietPeriodMs: number;
  /** One try's deadline. @default 10s */
  timeoutMs: number;
}

export type NotifyTarget =
  | (TargetBase & { kind: 'slack'; urlFile: string })
  | (TargetBase & { kind: 'webhook'; url: string; secretFile: string })
  | (TargetBase & { kind: 'email'; smtp: SmtpConfig; to: string[]; from: string | null });

const TARGET_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const EMAIL = /^[^\s@<>,;"]+@[^\s@<>,;"]+$/;
const MAX_TIMEOUT_MS = 120_000;

export function readNotify(value: unknown, resolve: (p: string) => string): NotifyTarget[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value))
    throw new ValidationError('notify', `must be a list of targets, got ${describeValue(value)}`);
  const names = new Set<string>();
  return value.map((item: unknown, i) => {
    const target = readTarget(new ObjectReader(item, `notify[${i}]`), resolve);
    if (names.has(target.name)) {
      throw new ValidationError(`notify[${i}].name`, `${describeValue(target.name)} is the name of an earlier target`);
    }
    names.add(target.name);
    return target;
  });
}

function readTarget(r: ObjectReader, resolve: (p: string) => string): NotifyTarget {
  const name = r.string('name');
  if (!TARGET_NAME.test(name)) {
    throw new ValidationError(r.keyPath('name'), `must match ${TARGET_NAME.source}, got ${describeValue(name)}`);
  }
  const kind = r.raw('kind');
  const base: TargetBase = {
    name,
    on: readKinds(r, 'on'),
    quietPeriodMs: r.durationMs('quietPeriod', '10m'),
    timeoutMs: readTimeout(r),
  };
  let target: NotifyTarget;
  switch (kind) {
    case 'slack':
      target = { ...base, kind, urlFile: resolve(r.string('urlFile')) };
      break;
    case 'webhook':
      target = { ...base, kind, url: readUrl(r, 'url'), secretFile: resolve(r.string('secretFile')) };
      break;
    case 'email':
      target = {
        ...base,
        kind,
        smtp: readSmtp(r.child('smtp'), resolve),
        to: readAddresses(r, 'to'),
        from: readFrom(r),
      };
      break;
    default:
      throw new ValidationError(
        r.keyPath('kind'),
        `must be one of ${NOTIFY_TARGET_KINDS.join(', ')}, got ${describeValue(kind)}`,
      );
  }
  r.rejectUnknown();
  return target;
}

function readKinds(r: ObjectReader, key: string): NotificationKind[] {
  const value = r.raw(key);
  if (!Array.isArray(value) || value.length === 0) {
    throw new ValidationError(
      r.keyPath(key),
      `must be a non-empty list of events (${NOTIFICATION_KINDS.join(', ')}), got ${describeValue(value)}`,
    );
  }
  const seen = new Set<NotificationKind>();
  for (const [i, kind] of value.entries()) {
    if (!isNotificationKind(kind)) {
      throw new ValidationError(
        `${r.keyPath(key)}[${i}]`,
        `must be one of ${NOTIFICATION_KINDS.join(', ')}, got ${describeValue(kind)}`,
      );
    }
    if (seen.has(kind)) throw new ValidationError(`${r.keyPath(key)}[${i}]`, `${kind} is listed twice`);
    seen.add(kind);
  }
  return [...seen];
}

function readTimeout(r: ObjectReader): number {
  const ms = r.durationMs('timeout', '10s');
  if (ms <= 0 || ms > MAX_TIMEOUT_MS) {
    throw new ValidationError(
      r.keyPath('timeout'),
      `must be longer than 0 and at most 2m, got ${describeValue(r.raw('timeout'))}`,
    );
  }
  return ms;
}

function readUrl(r: ObjectReader, key: string): string {
  const value = r.string(key);
  let url: URL | null = null;
  try {
    url = new URL(value);
  } catch {
    url = null;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password) {
    throw new ValidationError(
      r.keyPath(key),
      `must be an http(s) URL without credentials in it, got ${describeValue(value)}`,
    );
  }
  return url.toString();
}

function readSmtp(r: ObjectReader, resolve: (p: string) => string): SmtpConfig {
  const host = r.string('host');
  if (!/^[A-Za-z0-9.-]+$|^\[[0-9A-Fa-f:.]+\]$/.test(host)) {
    throw new ValidationError(r.keyPath('host'), `must be a host name or address, got ${describeValue(host)}`);
  }
  const explicitPort = r.has('port') ? r.integer('port', 587, 1, 65535) : (r.raw('port'), null);
  const tls = r.oneOf('tls', ['tls', 'starttls', 'none'] as const, explicitPort === 465 ? 'tls' : 'starttls');
  const user = r.optionalString('user');
  const passwordFile = r.optionalString('passwordFile');
  if (user !== null && passwordFile === null) {
    throw new ValidationError(r.keyPath('passwordFile'), `is required with smtp.user (${describeValue(user)})`);
  }
  if (user === null && passwordFile !== null) {
    throw new ValidationError(r.keyPath('user'), 'is required with smtp.passwordFile');
  }
  const caFile = r.optionalString('caFile');
  const smtp: SmtpConfig = {
    host,
    port: explicitPort ?? (tls === 'tls' ? 465 : 587),
    tls,
    user,
    passwordFile: passwordFile === null ? null : resolve(passwordFile),
    caFile: caFile === null ? null : resolve(caFile),
  };
  r.rejectUnknown();
  return smtp;
}

function readAddresses(r: ObjectReader, key: string): string[] {
  const value = r.raw(key);
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0) {
    throw new ValidationError(r.keyPath(key), `must be a list of email addresses, got ${describeValue(value)}`);
  }
  return list.map((address: unknown, i) => {
    if (typeof address !== 'string' || !EMAIL.test(address)) {
      throw new ValidationError(`${r.keyPath(key)}[${i}]`, `must be an email address, got ${describeValue(address)}`);
    }
    return address;
  });
}

function readFrom(r: ObjectReader): string | null {
  const from = r.optionalString('from');
  if (from !== null && !EMAIL.test(from)) {
    throw new ValidationError(r.keyPath('from'), `must be an email address, got ${describeValue(from)}`);
  }
  return from;
}
