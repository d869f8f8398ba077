// A real daemon for the API and auth tests: startDaemon() in this process with the process units
// driver, the embedded store in a scratch folder, the public listener on a free loopback port and
// the admin socket beside it. Requests go over real sockets (node:http, TCP or the unix socket).
// close() stops the daemon, stops any backend it started and removes the scratch folder.
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import { parseConfig } from '../config/config.js';
import { startDaemon, type Daemon } from '../daemon/daemon.js';
import { scratchDir } from '../harness/daemon-process.js';
import { removeProcessUnits, writeTestConfig } from './harness/daemon-config.js';

export interface Answer<T = unknown> {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: T;
}

export interface RequestOptions {
  token?: string;
  /** An object is sent as JSON; a string as is, with `type`. */
  body?: unknown;
  type?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

export interface TestDaemon {
  daemon: Daemon;
  dir: string;
  url: string;
  socket: string;
  secretFile: string;
  /** Lines the daemon logged. */
  logs: string[];
  /** A request on the public listener. */
  call<T = unknown>(method: string, route: string, options?: RequestOptions): Promise<Answer<T>>;
  /** A request on the admin socket (no token). */
  admin<T = unknown>(method: string, route: string, options?: RequestOptions): Promise<Answer<T>>;
  /** Creates a hyperuser through the admin socket. */
  addUser(username: string, role: 'viewer' | 'operator' | 'admin', password?: string): Promise<void>;
  /** Logs in on the public listener and returns the token. */
  login(username: string, password?: string): Promise<string>;
  close(): Promise<void>;
}

export const PASSWORD = 'correct horse battery staple';

export interface TestDaemonOptions {
  /** The backend repository (default: a path with nothing in it; fine while nothing is staged). */
  repo?: string;
  /** Extra top-level YAML appended to the config (e.g. an `auth:` section). */
  extraConfig?: string;
}

let serial = 0;

export async function startTestDaemon(options: TestDaemonOptions = {}): Promise<TestDaemon> {
  const scratch = await scratchDir('hv-api-');
  const written = await writeTestConfig({
    appName: `apitest-${process.pid}-${++serial}`,
    dir: scratch.dir,
    repo: options.repo,
    scriptTimeouts: { build: '2m', test: '2m' },
    extra: `proxy: { drainTimeout: 2s }\n${options.extraConfig ?? ''}`,
  });
  const { socket } = written;
  const config = parseConfig(written.text, scratch.dir);
  const logs: string[] = [];
  const daemon = await startDaemon(config, (line) => logs.push(line));
  const url = `http://127.0.0.1:${daemon.publicAddress.port}`;
  const call = <T>(method: string, route: string, o: RequestOptions = {}): Promise<Answer<T>> =>
    request<T>({ host: '127.0.0.1', port: daemon.publicAddress.port }, method, route, o);
  const admin = <T>(method: string, route: string, o: RequestOptions = {}): Promise<Answer<T>> =>
    request<T>({ socketPath: socket }, method, route, o);
  const td: TestDaemon = {
    daemon,
    dir: scratch.dir,
    url,
    socket,
    secretFile: config.auth.secretFile,
    logs,
    call,
    admin,
    addUser: async (username, role, password = PASSWORD) => {
      const answer = await admin('POST', '/users', { body: { username, password, roles: [role] } });
      if (answer.status !== 201) throw new Error(`cannot add ${username}: ${answer.status} ${answer.text}`);
    },
    login: async (username, password = PASSWORD) => {
      const answer = await call<{ token: string }>('POST', '/auth/login', { body: { username, password } });
      if (answer.status !== 200) throw new Error(`cannot log in as ${username}: ${answer.status} ${answer.text}`);
      return answer.json.token;
    },
    close: async () => {
      await daemon.close();
      await removeProcessUnits(written);
      await scratch.remove();
    },
  };
  return td;
}

export function request<T>(
  where: { host: string; port: number } | { socketPath: string },
  method: string,
  route: string,
  o: RequestOptions = {},
): Promise<Answer<T>> {
  const payload = o.body === undefined ? undefined : typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
  const headers: Record<string, string> = { ...o.headers };
  if (payload !== undefined) {
    headers['content-type'] ??= o.type ?? 'application/json';
    // node's client would send a GET body with neither length nor chunking: the server could not frame it.
    headers['content-length'] = String(Buffer.byteLength(payload));
  }
  if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`;
  return new Promise((resolve, reject) => {
    const req = http.request(
      { ...where, method, path: `/hypervisor${route}`, headers, timeout: o.timeoutMs ?? 30_000 },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: parse(text) as T }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${route}: no answer in time`)));
    req.on('error', reject);
    req.end(payload);
  });
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** The signing secret as the daemon reads it, for forging tokens in tests. */
export async function readSecret(file: string): Promise<Uint8Array> {
  return new Uint8Array(Buffer.from((await readFile(file, 'utf8')).trim(), 'base64url'));
}

export interface RouteInfo {
  method: string;
  /** express syntax, e.g. `/releases/:tag`. */
  path: string;
  /** The role its `allow()` guard demands; undefined when the route has no guard. */
  role: string | undefined;
}

interface LayerLike {
  route?: { path: string; methods: Record<string, boolean>; stack: Array<{ handle: { requiredRole?: string } }> };
  handle?: { stack?: LayerLike[] };
}

/** Every route registered on an express router, nested routers included (they are mounted at its root). */
export function routesOf(router: { stack: unknown[] }): RouteInfo[] {
  const found: RouteInfo[] = [];
  for (const layer of router.stack as LayerLike[]) {
    if (layer.route) {
      const role = layer.route.stack.map((l) => l.handle.requiredRole).find((r) => r !== undefined);
      for (const method of Object.keys(layer.route.methods)) found.push({ method, path: layer.route.path, role });
    } else if (layer.handle?.stack) {
      found.push(...routesOf(layer.handle as { stack: unknown[] }));
    }
  }
  return found;
}
