// Websocket upgrades go through npm http-proxy (undici's pool cannot hand over a raw socket to a
// server response). http-proxy 1.18.1 leaves sockets without error listeners on several paths (a
// non-101 answer followed by a client reset kills the process), so every socket we touch gets one.
// Once the backend says 101, the open connection is a WsSession, tracked by its target so that a
// drain can close it with a proper close code.
import { STATUS_CODES, type ClientRequest, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import httpProxy from 'http-proxy';
import { errorBody, GatewayTimeoutError, type ProxyHttpError } from './errors.js';
import { upstreamFailure } from './forward.js';
import { requestIdOf, upstreamUpgradeHeaders } from './headers.js';
import type { Lease } from './router.js';
import type { TrustedProxies } from './trusted.js';
import { WsSession } from './ws-session.js';

/** How long a socket we have ended may wait for its peer to close before we close it ourselves. */
const CLOSE_GRACE_MS = 1_000;

export class WebSocketForwarder {
  readonly #proxy: httpProxy;
  readonly #trusted: TrustedProxies;
  readonly #upgrades = new WeakMap<IncomingMessage, Upgrade>();
  /** Backend sockets that just answered 101, until http-proxy reports them open. */
  readonly #opening = new WeakMap<Duplex, Upgrade>();

  constructor(trusted: TrustedProxies) {
    this.#trusted = trusted;
    this.#proxy = httpProxy.createProxyServer({ ws: true, xfwd: false, prependPath: false });
    // Errors reach the callback given to ws(); without a listener here the library throws instead.
    this.#proxy.on('error', () => undefined);
    this.#proxy.on('proxyReqWs', (proxyReq, req) => this.#upgrades.get(req)?.attach(proxyReq, this.#opening));
    // Emitted right after http-proxy piped the two sockets together; the session takes them over.
    this.#proxy.on('open', (upstream: Duplex) => this.#opening.get(upstream)?.open(upstream));
  }

  /** Hands the handshake to the lease's target; the lease ends when the client socket closes. */
  forward(req: IncomingMessage, socket: Duplex, head: Buffer, lease: Lease): void {
    guard(socket);
    socket.once('close', lease.release);
    const requestId = requestIdOf(req);
    req.headers = upstreamUpgradeHeaders(req, requestId, this.#trusted);
    const upgrade = new Upgrade(socket, lease, requestId);
    this.#upgrades.set(req, upgrade);
    this.#proxy.ws(req, socket, head, { target: lease.target.origin }, (err) => upgrade.fail(err));
  }
}

/** One handshake in flight: knows whether the backend answered, and ties both sockets' lives together. */
class Upgrade {
  readonly #socket: Duplex;
  readonly #lease: Lease;
  readonly #requestId: string;
  #answered = false;

  constructor(socket: Duplex, lease: Lease, requestId: string) {
    this.#socket = socket;
    this.#lease = lease;
    this.#requestId = requestId;
  }

  attach(proxyReq: ClientRequest, opening: WeakMap<Duplex, Upgrade>): void {
    const { target } = this.#lease;
    const timer = setTimeout(() => {
      if (!this.#answered)
        proxyReq.destroy(
          new GatewayTimeoutError(`the ${target.color} backend did not answer the websocket handshake in time`),
        );
    }, target.responseTimeoutMs);
    const answered = (): void => {
      this.#answered = true;
      clearTimeout(timer);
    };
    proxyReq.once('response', answered);
    // Registered before http-proxy's own 'upgrade' listener, so this runs first.
    proxyReq.once('upgrade', (_res: IncomingMessage, upstream: Duplex) => {
      answered();
      guard(upstream);
      tie(this.#socket, upstream);
      opening.set(upstream, this);
    });
    // A client that leaves before the answer (or during a non-101 body) must not leave the backend waiting.
    this.#socket.once('close', () => {
      clearTimeout(timer);
      proxyReq.destroy();
    });
  }

  /** The handshake succeeded: relay through a session the target can close when it is drained. */
  open(upstream: Duplex): void {
    upstream.unpipe(this.#socket);
    this.#socket.unpipe(upstream);
    const session = new WsSession(this.#socket, upstream);
    const untrack = this.#lease.target.track(session);
    this.#socket.once('close', untrack);
  }

  /** http-proxy's error path; it ends the client socket right after this returns. */
  fail(err: Error): void {
    if (this.#answered) return;
    this.#answered = true;
    writeRawError(this.#socket, upstreamFailure(err, this.#lease.target), this.#requestId);
  }
}

/** Answers on a raw socket (after an upgrade request there is no ServerResponse) and closes it. */
export function writeRawError(socket: Duplex, err: ProxyHttpError, requestId: string): void {
  guard(socket);
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = errorBody(err);
  const fields: Record<string, string> = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
    connection: 'close',
    'x-request-id': requestId,
  };
  for (const [name, value] of Object.entries(err.headers)) fields[name] = String(value);
  const head = [`HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? ''}`];
  for (const [name, value] of Object.entries(fields)) head.push(`${name}: ${value}`);
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
}

/**
 * The one listener that keeps a socket error from becoming an uncaught exception. Once our side is
 * ended, the socket is closed after a grace period even if the peer never closes its side
 * (the HTTP server's sockets are half-open capable).
 */
export function guard(socket: Duplex): void {
  if (guarded.has(socket)) return;
  guarded.add(socket);
  socket.on('error', () => socket.destroy());
  socket.once('finish', () => setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref());
}
const guarded = new WeakSet<Duplex>();

/** Each side ends when the other closes, however it closed. */
function tie(a: Duplex, b: Duplex): void {
  const endOther = (other: Duplex) => (): void => {
    if (!other.destroyed && !other.writableEnded) other.end();
  };
  a.once('close', endOther(b));
  b.once('close', endOther(a));
}
