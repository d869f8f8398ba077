// Header rules of the proxy, both ways: hop-by-hop fields stay on their hop (RFC 9110 7.6.1),
// and the X-Forwarded-* fields are ours to set, since this proxy is the edge of the host.
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { TLSSocket } from 'node:tls';

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
const REPLACED = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-request-id', 'forwarded', 'expect']);

/** A request id we accept from a client: printable ASCII, no spaces, not absurdly long. */
const REQUEST_ID = /^[\x21-\x7e]{1,200}$/;

/** The lowercased names a message's `Connection` header declares hop-by-hop, plus the standard ones. */
export function hopByHopNames(connection: string | string[] | undefined): Set<string> {
  const names = new Set(HOP_BY_HOP);
  const values = Array.isArray(connection) ? connection : connection === undefined ? [] : [connection];
  for (const value of values) {
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

export function forwardedFields(req: IncomingMessage, requestId: string, secureScheme: 'https' | 'wss'): Record<string, string> {
  const encrypted = (req.socket as Partial<TLSSocket>).encrypted === true;
  const plain = secureScheme === 'https' ? 'http' : 'ws';
  const fields: Record<string, string> = {
    'x-forwarded-for': clientAddress(req),
    'x-forwarded-proto': encrypted ? secureScheme : plain,
    'x-request-id': requestId,
  };
  if (req.headers.host) fields['x-forwarded-host'] = req.headers.host;
  return fields;
}

/** Request fields for undici, as a flat name/value list so repeated fields keep their order. */
export function upstreamRequestHeaders(req: IncomingMessage, requestId: string): string[] {
  const drop = hopByHopNames(req.headers.connection);
  const out: string[] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    const lower = name.toLowerCase();
    if (drop.has(lower) || REPLACED.has(lower)) continue;
    out.push(name, raw[i + 1] as string);
  }
  for (const [name, value] of Object.entries(forwardedFields(req, requestId, 'https'))) out.push(name, value);
  return out;
}

/**
 * Request fields for a websocket handshake (http-proxy sends `req.headers`): the same rules, except
 * that `Connection: Upgrade` and `Upgrade` are the point of this hop and must reach the backend.
 */
export function upstreamUpgradeHeaders(req: IncomingMessage, requestId: string): IncomingHttpHeaders {
  const drop = hopByHopNames(req.headers.connection);
  const out: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || drop.has(name) || REPLACED.has(name)) continue;
    out[name] = value;
  }
  out.connection = 'Upgrade';
  out.upgrade = req.headers.upgrade;
  return { ...out, ...forwardedFields(req, requestId, 'wss') };
}

/** Response fields for the client: the backend's, minus its hop-by-hop ones. */
export function downstreamResponseHeaders(headers: IncomingHttpHeaders, requestId: string): OutgoingHttpHeaders {
  const drop = hopByHopNames(headers.connection);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || drop.has(name)) continue;
    out[name] = value;
  }
  out['x-request-id'] ??= requestId;
  return out;
}

function clientAddress(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? '';
  // A dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d; backends expect a.b.c.d.
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
