// Header rules of the proxy, both ways: hop-by-hop fields stay on their hop (RFC 9110 7.6.1), and
// the X-Forwarded-* and X-Real-IP fields are ours to set, since this proxy is the edge of the host;
// only a trusted proxy in front of us may have set them already, and then we append to its values.
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { withoutCanaryCookie } from './sticky.js';
import { clientAddress, type TrustedProxies } from './trusted.js';

/** Fields that describe one connection, never the message; the libraries frame the message themselves. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * Client fields we replace rather than pass on. A client-made `Forwarded` would contradict the
 * X-Forwarded-* we set, and `Expect` is answered by node itself (undici cannot send it).
 */
const REPLACED = new Set([
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-request-id',
  'forwarded',
  'expect',
]);

/**
 * Fields only a proxy may set (X-Forwarded-Port, -Ssl, -Prefix, X-Real-IP, ...): from an untrusted
 * peer they are forgeries a backend could believe, so they are dropped before we set ours.
 */
function proxyOnly(lower: string): boolean {
  return lower.startsWith('x-forwarded-') || lower === 'x-real-ip';
}

/** Whether a client field stays off the upstream request. */
function dropped(lower: string, declared: ReadonlySet<string>, fromProxy: boolean): boolean {
  return HOP_BY_HOP.has(lower) || REPLACED.has(lower) || declared.has(lower) || (!fromProxy && proxyOnly(lower));
}

/** A request id we accept from a client: printable ASCII, no spaces, not absurdly long. */
const REQUEST_ID = /^[\x21-\x7e]{1,200}$/;

const NONE: ReadonlySet<string> = new Set();

/** The lowercased names a message's `Connection` header declares hop-by-hop (beyond the standard ones). */
export function connectionNames(connection: string | string[] | undefined): ReadonlySet<string> {
  if (connection === undefined) return NONE;
  const names = new Set<string>();
  for (const value of Array.isArray(connection) ? connection : [connection]) {
    for (const token of value.split(',')) {
      const name = token.trim().toLowerCase();
      if (name) names.add(name);
    }
  }
  return names;
}

/** The client's request id when it is usable, else a fresh one. */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * X-Forwarded-For/-Proto/-Host and X-Request-Id for the backend, as a flat name/value list. From a
 * trusted proxy, its X-Forwarded-For gets the peer appended and its -Proto/-Host are kept.
 */
export function forwardedFields(
  req: IncomingMessage,
  requestId: string,
  secureScheme: 'https' | 'wss',
  trusted: TrustedProxies,
): string[] {
  const peer = clientAddress(req.socket);
  const h = req.headers;
  const fromProxy = trusted.trusts(req.socket);
  const givenFor = fromProxy ? joined(h['x-forwarded-for']) : undefined;
  const givenProto = fromProxy ? joined(h['x-forwarded-proto']) : undefined;
  const givenHost = fromProxy ? joined(h['x-forwarded-host']) : undefined;
  const encrypted = (req.socket as Partial<TLSSocket>).encrypted === true;
  const fields = [
    'x-forwarded-for',
    givenFor ? `${givenFor}, ${peer}` : peer,
    'x-forwarded-proto',
    givenProto || (encrypted ? secureScheme : secureScheme === 'https' ? 'http' : 'ws'),
    'x-request-id',
    requestId,
  ];
  const host = givenHost || h.host;
  if (host) fields.push('x-forwarded-host', host);
  return fields;
}

function joined(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Request fields for undici, as a flat name/value list so repeated fields keep their order. */
export function upstreamRequestHeaders(req: IncomingMessage, requestId: string, trusted: TrustedProxies): string[] {
  const declared = connectionNames(req.headers.connection);
  const fromProxy = trusted.trusts(req.socket);
  const out: string[] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    const lower = name.toLowerCase();
    if (dropped(lower, declared, fromProxy)) continue;
    const value = lower === 'cookie' ? withoutCanaryCookie(raw[i + 1] as string) : (raw[i + 1] as string);
    if (value !== null) out.push(name, value);
  }
  const fields = forwardedFields(req, requestId, 'https', trusted);
  for (const field of fields) out.push(field);
  return out;
}

/**
 * Request fields for a websocket handshake (http-proxy sends `req.headers`): the same rules, except
 * that `Connection: Upgrade` and `Upgrade` are the point of this hop and must reach the backend.
 */
export function upstreamUpgradeHeaders(
  req: IncomingMessage,
  requestId: string,
  trusted: TrustedProxies,
): IncomingHttpHeaders {
  const declared = connectionNames(req.headers.connection);
  const fromProxy = trusted.trusts(req.socket);
  const out: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || dropped(name, declared, fromProxy)) continue;
    const kept = name === 'cookie' ? withoutCanaryCookie(value as string) : value;
    if (kept !== null) out[name] = kept;
  }
  out.connection = 'Upgrade';
  out.upgrade = req.headers.upgrade;
  const fields = forwardedFields(req, requestId, 'wss', trusted);
  for (let i = 0; i + 1 < fields.length; i += 2) out[fields[i] as string] = fields[i + 1];
  return out;
}

/** Response fields for the client: the backend's, minus its hop-by-hop ones. */
export function downstreamResponseHeaders(headers: IncomingHttpHeaders, requestId: string): OutgoingHttpHeaders {
  const declared = connectionNames(headers.connection);
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name) || declared.has(name)) continue;
    out[name] = value;
  }
  out['x-request-id'] ??= requestId;
  return out;
}
