// Tiny real backends for proxy tests: a node:http server on a loopback port that reports its
// color, with a few paths that misbehave on purpose. Each cleans up after itself in close().
import { spawn } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Color } from '../../common/types.js';
import { acceptWebSocket } from './ws.js';

/** The body of `/slow`: the first half is sent at once, the rest after the delay. */
export function slowBody(color: Color): { first: string; rest: string } {
  return { first: `${color}:start:${'a'.repeat(32 * 1024)}`, rest: `${'b'.repeat(32 * 1024)}:${color}:end` };
}

export interface Backend {
  readonly color: Color;
  readonly port: number;
  /**
   * Emits `request` (path) when a request arrives, `aborted` (path) when its client left early, and
   * `ws-close` (close code) when a websocket peer sent a close frame. A test emits `cut` to reset
   * the connection of a `/cut` answer.
   */
  readonly events: EventEmitter;
  /** Requests answered so far (upgrades excluded). */
  readonly served: number;
  close(): Promise<void>;
}

/** Longest delay `/slow?ms=` accepts, so no test can park a backend for long. */
const MAX_DELAY_MS = 10_000;
const CLOSE_DEADLINE_MS = 2_000;

export async function startBackend(color: Color, port = 0): Promise<Backend> {
  const events = new EventEmitter();
  const sockets = new Set<Duplex>();
  let served = 0;
  const server = http.createServer((req, res) => {
    events.emit('request', pathOf(req));
    res.once('finish', () => (served += 1));
    res.once('close', () => {
      if (!res.writableFinished) events.emit('aborted', pathOf(req));
    });
    route(color, events, req, res);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    upgrade(color, events, req, socket, head);
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return {
    color,
    port: (server.address() as AddressInfo).port,
    events,
    get served() {
      return served;
    },
    close: () => closeBackend(server, sockets),
  };
}

/** A loopback port nothing listens on (bound, then released): connections to it are refused. */
export async function refusedPort(): Promise<number> {
  const server = http.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  server.close();
  await once(server, 'close');
  return port;
}

function pathOf(req: IncomingMessage): string {
  return new URL(req.url ?? '/', 'http://backend').pathname;
}

function route(color: Color, events: EventEmitter, req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://backend');
  res.setHeader('x-backend-color', color);
  switch (url.pathname) {
    case '/slow':
      return slow(color, res, Math.min(Number(url.searchParams.get('ms') ?? 100), MAX_DELAY_MS));
    case '/echo':
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      req.pipe(res);
      return;
    case '/headers':
      return json(res, { color, headers: req.headers });
    case '/session':
      // A backend cookie of its own, which a proxy that adds one must keep.
      res.setHeader('set-cookie', ['session=s1; Path=/', 'theme=dark; Path=/']);
      return json(res, { color, method: req.method, path: url.pathname });
    case '/sink': {
      // Reads the whole body before answering, so a proxy that refuses it mid-way can still say why.
      let bytes = 0;
      req.on('data', (chunk: Buffer) => (bytes += chunk.length));
      req.on('end', () => json(res, { color, bytes }));
      return;
    }
    case '/hop':
      // Fields this backend declares hop-by-hop: the proxy must not pass them to the client.
      res.writeHead(200, {
        connection: 'x-upstream-secret',
        'x-upstream-secret': '1',
        'x-kept': 'yes',
        'content-length': '2',
      });
      res.end('ok');
      return;
    case '/hang':
      return; // never answers; closed by the client or by close()
    case '/reset':
      // Resets the connection before any byte of an answer, when it is this backend's turn to fail.
      if (url.searchParams.get('color') === color) return void req.socket.resetAndDestroy();
      return json(res, { color, method: req.method, path: url.pathname });
    case '/cut':
      // Starts an answer, then resets once the test emits `cut` (when its client has the head, so the
      // proxy has it too): too late for the proxy to try elsewhere.
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1000' });
      res.write('partial');
      events.once('cut', () => req.socket.resetAndDestroy());
      return;
    default:
      json(res, { color, method: req.method, path: url.pathname });
  }
}

function slow(color: Color, res: ServerResponse, ms: number): void {
  const { first, rest } = slowBody(color);
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(first + rest) });
  res.write(first);
  // Not a wait: a slow answer is what this backend is for (the rest after `ms`).
  const timer = setTimeout(() => res.end(rest), ms);
  res.once('close', () => clearTimeout(timer));
}

function json(res: ServerResponse, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function upgrade(color: Color, events: EventEmitter, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const path = pathOf(req);
  if (path === '/ws') {
    const peer = acceptWebSocket(req, socket, head);
    peer.onText = (text) => peer.send(text === '?headers' ? JSON.stringify(req.headers) : `${color}:${text}`);
    peer.onClose = (code) => events.emit('ws-close', code);
    return;
  }
  if (path === '/ws-reject') return dribbleRefusal(socket);
  socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
}

/** A non-101 answer whose body keeps coming, so the proxy is still writing when the client resets. */
function dribbleRefusal(socket: Duplex): void {
  socket.write('HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n');
  let left = 200;
  // Not a wait: the pace of a body that keeps coming, the behaviour under test.
  const timer = setInterval(() => {
    if (socket.destroyed || left === 0) {
      clearInterval(timer);
      if (!socket.destroyed) socket.end('0\r\n\r\n');
      return;
    }
    left -= 1;
    socket.write('6\r\nnope.\n\r\n');
  }, 10);
  socket.once('close', () => clearInterval(timer));
}

async function closeBackend(server: Server, sockets: Set<Duplex>): Promise<void> {
  const closed = once(server, 'close');
  server.close();
  for (const socket of sockets) socket.destroy();
  server.closeAllConnections();
  let timer: NodeJS.Timeout | undefined;
  // A deadline, not a wait: the close is awaited as an event; the sockets are already destroyed.
  await Promise.race([closed, new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_DEADLINE_MS)))]);
  clearTimeout(timer);
}

/** A test backend in its own process (harness/backend-process.ts), for tests that kill it. */
export interface BackendProcess {
  readonly color: Color;
  readonly port: number;
  /** SIGKILL: the backend vanishes without a word, its connections reset by the kernel. */
  kill(): Promise<void>;
  /** SIGSTOP: the backend stalls. The kernel still accepts connections into its backlog; nothing answers. */
  stall(): void;
  /** SIGCONT: the backend runs on and answers what waited. */
  resume(): void;
  /** SIGTERM, or SIGKILL after a deadline; harmless when already dead. */
  close(): Promise<void>;
}

const PROCESS_START_DEADLINE_MS = 10_000;

export async function startBackendProcess(color: Color): Promise<BackendProcess> {
  const script = new URL('./backend-process.js', import.meta.url).pathname;
  const child = spawn(process.execPath, [script, color], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = once(child, 'exit').then(() => undefined);
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    // A deadline, not a wait: the "ready" line is awaited as output.
    const timer = setTimeout(
      () => reject(new Error(`backend process ${color} not ready within ${PROCESS_START_DEADLINE_MS}ms`)),
      PROCESS_START_DEADLINE_MS,
    );
    child.once('exit', (code) =>
      reject(new Error(`backend process ${color} exited with ${String(code)} before it was ready`)),
    );
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const match = /^ready (\d+)$/m.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
  }).catch((err: Error) => {
    child.kill('SIGKILL');
    throw err;
  });
  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    // A stalled process keeps SIGTERM pending until it runs again.
    child.kill('SIGCONT');
    child.kill(signal);
    // A deadline, not a wait: the exit is awaited as an event; a backend that ignores SIGTERM is killed.
    const timer = setTimeout(() => child.kill('SIGKILL'), CLOSE_DEADLINE_MS);
    await exited;
    clearTimeout(timer);
  };
  return {
    color,
    port,
    kill: () => stop('SIGKILL'),
    stall: () => void child.kill('SIGSTOP'),
    resume: () => void child.kill('SIGCONT'),
    close: () => stop('SIGTERM'),
  };
}

export interface SimpleResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface SimpleRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  timeoutMs?: number;
}

/**
 * One request with node's own client on a fresh connection: it sends any header as given (undici
 * refuses to send a `Connection` field), and a deadline bounds the whole exchange.
 */
export function httpRequest(port: number, path: string, options: SimpleRequest = {}): Promise<SimpleResponse> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      path,
      method: options.method ?? 'GET',
      headers: options.headers,
      agent: false,
    });
    // A deadline, not a wait: the answer is awaited as events; one that never completes fails the request.
    const timer = setTimeout(
      () => req.destroy(new Error(`${path}: no complete response within ${timeoutMs}ms`)),
      timeoutMs,
    );
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.end(options.body);
  });
}

/** Resolves with the first `event` whose argument passes `match`; rejects after the deadline. */
export function waitForEvent<T>(
  emitter: EventEmitter,
  event: string,
  match: (value: T) => boolean,
  timeoutMs: number,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const onEvent = (value: T): void => {
      if (!match(value)) return;
      clearTimeout(timer);
      emitter.off(event, onEvent);
      resolve(value);
    };
    // A deadline, not a wait: the event itself is what is awaited.
    const timer = setTimeout(() => {
      emitter.off(event, onEvent);
      reject(new Error(`no '${event}' event within ${timeoutMs}ms`));
    }, timeoutMs);
    emitter.on(event, onEvent);
  });
}
