// Trusted proxies: the peers (a load balancer in front of this host, say) whose X-Forwarded-*
// fields we keep and append to. Everyone else's are replaced, since a client may write anything.
import net, { type Socket } from 'node:net';
import { ValidationError } from '../common/errors.js';

export class TrustedProxies {
  readonly #list = new net.BlockList();
  readonly #empty: boolean;
  /** A keep-alive connection carries many requests; its peer is looked up once (a check costs ~2us). */
  readonly #verdicts = new WeakMap<Socket, boolean>();

  /** `entries`: IPv4/IPv6 addresses or CIDR ranges, e.g. `10.0.0.0/8`, `::1`. @default [] (trust no one) */
  constructor(entries: readonly string[] = []) {
    entries.forEach((entry, i) => addEntry(this.#list, entry, `trustedProxies[${i}]`));
    this.#empty = entries.length === 0;
  }

  /** True when the connection's peer is a trusted proxy. */
  trusts(socket: Socket): boolean {
    if (this.#empty) return false;
    let verdict = this.#verdicts.get(socket);
    if (verdict === undefined) {
      const address = clientAddress(socket);
      verdict = address !== '' && this.#list.check(address, net.isIPv6(address) ? 'ipv6' : 'ipv4');
      this.#verdicts.set(socket, verdict);
    }
    return verdict;
  }
}

/** Parses `address` or `address/prefix` into the list, naming the entry when it is not one. */
function addEntry(list: net.BlockList, entry: unknown, path: string): void {
  const [address = '', prefix, extra] = typeof entry === 'string' ? entry.trim().split('/') : [];
  const family = net.isIPv4(address) ? 'ipv4' : net.isIPv6(address) ? 'ipv6' : null;
  const bits = family === 'ipv4' ? 32 : 128;
  const length = prefix === undefined ? bits : /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
  if (family === null || extra !== undefined || !(length >= 0 && length <= bits)) {
    throw new ValidationError(
      path,
      `must be an IP address or a CIDR range like 10.0.0.0/8 or fd00::/8, got ${JSON.stringify(entry)}`,
    );
  }
  list.addSubnet(address, length, family);
}

/** The peer's address; a dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d, backends expect a.b.c.d. */
export function clientAddress(socket: Socket): string {
  const address = socket.remoteAddress ?? '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
