// The proxy: section: the data plane's deadlines and limits, and which proxies in front of it are
// trusted with X-Forwarded-*.
import { isIPv4, isIPv6 } from 'node:net';
import { ValidationError } from '../common/errors.js';
import { describeValue } from '../common/describe.js';
import type { ObjectReader } from './reader.js';

export interface ProxyConfig {
  /** Requests in flight on the old color get this long after a switch; websockets are then closed. @default 30s */
  drainTimeoutMs: number;
  /** Deadline for a client's request head (408 after it). @default 30s */
  headerTimeoutMs: number;
  /** A client's keep-alive connection is closed after this long without a request. @default 65s */
  idleTimeoutMs: number;
  /** Deadline to connect to a backend (504 after it). @default 5s */
  connectTimeoutMs: number;
  /** Deadline for a backend's response head (504 after it). @default 60s */
  responseTimeoutMs: number;
  /** Largest request body passed on (413 above); config key `maxBodySize`, e.g. 512kb, 10mb. @default 10mb */
  maxBodyBytes: number;
  /** Addresses or CIDR ranges of proxies in front of us whose X-Forwarded-* are kept. @default [] */
  trustedProxies: string[];
}

export function readProxy(r: ObjectReader): ProxyConfig {
  const timeout = (key: string, fallback: string): number => {
    const ms = r.durationMs(key, fallback);
    if (ms <= 0) throw new ValidationError(r.keyPath(key), `must be longer than 0, got ${describeValue(r.raw(key))}`);
    return ms;
  };
  const proxy = {
    drainTimeoutMs: timeout('drainTimeout', '30s'),
    headerTimeoutMs: timeout('headerTimeout', '30s'),
    idleTimeoutMs: timeout('idleTimeout', '65s'),
    connectTimeoutMs: timeout('connectTimeout', '5s'),
    responseTimeoutMs: timeout('responseTimeout', '60s'),
    maxBodyBytes: r.size('maxBodySize', '10mb'),
    trustedProxies: readAddressList(r, 'trustedProxies'),
  };
  r.rejectUnknown();
  return proxy;
}

/** IP addresses or CIDR ranges (10.0.0.0/8, ::1, fd00::/8). */
function readAddressList(r: ObjectReader, key: string): string[] {
  const value = r.raw(key) ?? [];
  if (!Array.isArray(value))
    throw new ValidationError(
      r.keyPath(key),
      `must be a list of IP addresses or CIDR ranges, got ${describeValue(value)}`,
    );
  return value.map((entry: unknown, i) => {
    const [address = '', prefix, extra] = typeof entry === 'string' ? entry.trim().split('/') : [];
    const bits = isIPv4(address) ? 32 : isIPv6(address) ? 128 : 0;
    const length = prefix === undefined ? bits : /^\d{1,3}$/.test(prefix) ? Number(prefix) : -1;
    if (bits === 0 || extra !== undefined || length < 0 || length > bits) {
      throw new ValidationError(
        `${r.keyPath(key)}[${i}]`,
        `must be an IP address or a CIDR range like 10.0.0.0/8, got ${describeValue(entry)}`,
      );
    }
    return (entry as string).trim();
  });
}
