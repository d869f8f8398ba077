// The proxy's listeners. The public one sends `/hypervisor` paths to the API handler and every
// other request to the active color; the preview one serves the preview color. Neither ever
// lets a socket error escape: the daemon is the host's front door.
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { ValidationError } from '../common/errors.js';
import { ListenError, NoTargetError, ProxyHttpError, sendError } from './errors.js';
import { forward, type ForwardContext } from './forward.js';
import { requestIdOf } from './headers.js';
import type { TrafficMeter } from './meter.js';
import type { Router, Slot } from './router.js';
import { StickyBuckets, type CanaryClient } from './sticky.js';
import { positive } from './target.js';
import { CertificateReloader, loadKeyPairSync, type TlsCertificateError, type TlsFiles } from './tls.js';
import { TrustedProxies } from './trusted.js';
import { guard, WebSocketForwarder, writeRawError } from './websocket.js';

export type ListenerKind = 'public' | 'preview';
export type ApiHandler = (req: IncomingMessage, res: ServerResponse) => void;

export interface ServerTimeouts {
  /** Deadline for a client to send the request head (slow-loris guard; answer 408). @default 30000 */
  headersTimeoutMs?: number;
  /** Deadline for a client to send the whole request, body included. @default 300000 */
  requestTimeoutMs?: number;
  /** Idle time of a client keep-alive connection; above common load-balancer idle timeouts (60s). @default 65000 */
  keepAliveTimeoutMs?: number;
}

export interface ProxyTlsOptions extends TlsFiles {
  /** Told about each reload of the files: null when the new pair is in use, else why the old one stays. */
  onReload?(error: TlsCertificateError | null): void;
}

export interface ProxyServerOptions {
  router: Router;
  /** Serves `/hypervisor` and `/hypervisor/...`. Without it those paths get 404: they never reach a backend. */
  apiHandler?: ApiHandler;
  which: ListenerKind;
  timeouts?: ServerTimeouts;
  /** Largest request body passed on to a backend; a larger one gets 413. @default 10485760 (10 MiB) */
  maxBodyBytes?: number;
  /** Addresses or CIDR ranges of proxies in front of us whose X-Forwarded-* we keep. @default [] */
  trustedProxies?: readonly string[];
  /** Serve HTTPS with this certificate and key (reloaded when the files change). @default plain HTTP */
  tls?: ProxyTlsOptions;
  /** Counts each proxied request's answer, latency and upstream failures per color. @default not measured */
  meter?: TrafficMeter;
}

export const API_PREFIX = '/hypervisor';

const DEFAULT_TIMEOUTS: Required<ServerTimeouts> = {
  headersTimeoutMs: 30_000,
  requestTimeoutMs: 300_000,
  keepAliveTimeoutMs: 65_000,
};
export const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;

/**
 * Node checks the header and request deadlines on a timer (default every 30s, so a 30s deadline
 * could take 60s); a quarter of the shorter deadline keeps the cut within 25% of it.
 */
function checkingIntervalMs(t: Required<ServerTimeouts>): number {
  return Math.max(50, Math.min(1_000, Math.floor(Math.min(t.headersTimeoutMs, t.requestTimeoutMs) / 4)));
}

/** Sockets taken over by an upgrade: the HTTP server no longer tracks them, closeServer must. */
const upgraded = new WeakMap<Server, Set<Duplex>>();

/** A listener bound to its slot, with what every request on it needs. */
interface Listener {
  server: Server;
  options: ProxyServerOptions;
  slot: Slot;
  forwarding: ForwardContext;
  /** Canary buckets of public clients (proxy/sticky.ts). */
  buckets: StickyBuckets;
}

export function createProxyServer(options: ProxyServerOptions): Server {
  const t = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  for (const [key, value] of Object.entries(t)) positive(`timeouts.${key}`, value);
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 0) {
    throw new ValidationError('maxBodyBytes', `must be a whole number of bytes, got ${String(maxBodyBytes)}`);
  }
  const trusted = new TrustedProxies(options.trustedProxies);
  const server = makeServer(t, options.tls);
  const slot: Slot = options.which === 'public' ? 'active' : 'preview';
  const { router } = options;
  // Only public traffic fails over: the preview listener exists to test one particular color.
  const failover = slot === 'active' ? router.failoverLease.bind(router) : () => null;
  const buckets = new StickyBuckets();
  const meter = options.meter ?? null;
  const listener: Listener = {
    server,
    options,
    slot,
    forwarding: { trusted, maxBodyBytes, failover, meter },
    buckets,
  };
  const ws = new WebSocketForwarder(trusted);
  const sockets = new Set<Duplex>();
  upgraded.set(server, sockets);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => onRequest(listener, req, res));
  // With a listener here node does not answer `Expect: 100-continue` itself: a body over the limit
  // is refused before the client sends it.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if (Number(req.headers['content-length'] ?? 0) <= maxBodyBytes) res.writeContinue();
    onRequest(listener, req, res);
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    onUpgrade(listener, ws, req, socket, head);
  });
  return server;
}

function makeServer(t: Required<ServerTimeouts>, tls: ProxyTlsOptions | undefined): Server {
  const options: http.ServerOptions = {
    headersTimeout: Math.min(t.headersTimeoutMs, t.requestTimeoutMs),
    requestTimeout: t.requestTimeoutMs,
    keepAliveTimeout: t.keepAliveTimeoutMs,
    connectionsCheckingInterval: checkingIntervalMs(t),
  };
  if (!tls) return http.createServer(options);
  const pair = loadKeyPairSync(tls);
  const server = https.createServer({ ...options, ...pair });
  // Watched only while listening, so a listener that never opened leaves no watcher behind.
  server.once('listening', () => {
    const reloader = new CertificateReloader({
      files: tls,
      current: pair,
      apply: (next) => server.setSecureContext(next),
      onReload: tls.onReload,
    });
    server.once('close', () => reloader.close());
  });
  return server;
}

function onRequest(listener: Listener, req: IncomingMessage, res: ServerResponse): void {
  const { server, options } = listener;
  // Node emits write-after-end and similar as 'error' on the response; never let one go uncaught.
  res.on('error', () => undefined);
  // A server being closed must not keep this connection alive for another request.
  if (!server.listening) res.setHeader('connection', 'close');
  if (isApiPath(req.url)) {
    callApi(options.apiHandler, req, res);
    return;
  }
  toBackend(listener, req, res);
}

function toBackend(listener: Listener, req: IncomingMessage, res: ServerResponse, waited = false): void {
  if (res.destroyed) return; // the client left while it waited
  const { router } = listener.options;
  const client = clientOf(listener, req);
  const lease = router.lease(listener.slot, client?.bucket);
  if (lease) return forward(req, res, lease, listener.forwarding, client?.setCookie);
  const hold = waited ? null : router.holding;
  if (hold) return void hold.then(() => toBackend(listener, req, res, true));
  sendError(res, new NoTargetError(listener.slot), requestIdOf(req));
}

/** The client's canary bucket, read only while public traffic is split (proxy/sticky.ts). */
function clientOf(listener: Listener, req: IncomingMessage): CanaryClient | null {
  if (listener.slot !== 'active' || !listener.options.router.splitting) return null;
  return listener.buckets.client(req.headers.cookie, (req.socket as { encrypted?: boolean }).encrypted === true);
}

function callApi(apiHandler: ApiHandler | undefined, req: IncomingMessage, res: ServerResponse): void {
  if (!apiHandler) {
    sendError(
      res,
      new ProxyHttpError(404, 'not_found', 'the hypervisor API is served on the public listener'),
      requestIdOf(req),
    );
    return;
  }
  try {
    apiHandler(req, res);
  } catch (err) {
    sendError(res, new ProxyHttpError(500, 'internal', 'the API handler failed', { cause: err }), requestIdOf(req));
  }
}

function onUpgrade(
  listener: Listener,
  ws: WebSocketForwarder,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): void {
  guard(socket);
  const requestId = requestIdOf(req);
  if (isApiPath(req.url)) {
    writeRawError(
      socket,
      new ProxyHttpError(404, 'not_found', 'the hypervisor API has no websocket endpoints'),
      requestId,
    );
    return;
  }
  if (req.headers.upgrade?.toLowerCase() !== 'websocket' || req.method !== 'GET') {
    writeRawError(
      socket,
      new ProxyHttpError(400, 'bad_request', 'only websocket upgrades (GET, Upgrade: websocket) are proxied'),
      requestId,
    );
    return;
  }
  upgradeToBackend(listener, ws, { req, socket, head });
}

interface Upgrade {
  req: IncomingMessage;
  socket: Duplex;
  head: Buffer;
}

function upgradeToBackend(listener: Listener, ws: WebSocketForwarder, u: Upgrade, waited = false): void {
  if (u.socket.destroyed) return; // the client left while it waited
  const { router } = listener.options;
  const { slot } = listener;
  // A 101 carries no cookie of ours: a client without one is placed by a fresh bucket, once.
  const lease = router.lease(slot, clientOf(listener, u.req)?.bucket);
  if (lease) return ws.forward(u.req, u.socket, u.head, lease);
  const hold = waited ? null : router.holding;
  if (hold) return void hold.then(() => upgradeToBackend(listener, ws, u, true));
  writeRawError(u.socket, new NoTargetError(slot), requestIdOf(u.req));
}

/** True for `/hypervisor` and `/hypervisor/...` (query string aside); `/hypervisorx` is a backend path. */
export function isApiPath(url: string | undefined): boolean {
  const path = (url ?? '/').split('?', 1)[0] as string;
  return path === API_PREFIX || path.startsWith(`${API_PREFIX}/`);
}

export function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(new ListenError(host, port, err));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** Period at which connections that became idle during a close are dropped. */
const IDLE_SWEEP_MS = 100;
/** After the deadline every socket is destroyed; this only bounds waiting for the 'close' event. */
const FORCED_CLOSE_DEADLINE_MS = 2_000;

/**
 * Stops accepting, closes idle keep-alive connections as they become idle, and at the deadline
 * destroys whatever is left (websockets included). Resolves once the server is closed.
 */
export async function closeServer(server: Server, timeoutMs: number): Promise<void> {
  positive('timeoutMs', timeoutMs);
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const sweeper = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
  try {
    if (await settlesWithin(closed, timeoutMs)) return;
    server.closeAllConnections();
    for (const socket of upgraded.get(server) ?? []) socket.destroy();
    await settlesWithin(closed, FORCED_CLOSE_DEADLINE_MS);
  } finally {
    clearInterval(sweeper);
  }
}

function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void promise.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}
