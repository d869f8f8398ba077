// The processes the proxy benchmark measures, one role per process so that each has a core's
// worth of event loop of its own and its RSS can be read from outside:
//   node dist/bench/child.js backend <port>              a tiny HTTP backend (the "bare backend")
//   node dist/bench/child.js proxy <port> <backendPort>  our proxy: the real Router + createProxyServer
// Each prints `ready <port>` once it listens and exits on SIGTERM.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Router } from '../proxy/router.js';
import { closeServer, createProxyServer, listen } from '../proxy/server.js';

/** What the backend answers: small, fixed, with a length, like a health or JSON endpoint. */
export const BACKEND_BODY = 'hello, world\n';

async function backend(port: number): Promise<void> {
  const length = String(Buffer.byteLength(BACKEND_BODY));
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': length });
    res.end(BACKEND_BODY);
  });
  // Longer than any client's idle time, so the proxies' pooled connections are never cut under them.
  server.keepAliveTimeout = 120_000;
  const address = await listen(server, '127.0.0.1', port);
  ready(address, () => closeServer(server, 1_000));
}

async function proxy(port: number, backendPort: number): Promise<void> {
  const router = new Router({ drainTimeoutMs: 1_000 });
  await router.setActive('blue', backendPort);
  const server = createProxyServer({ router, which: 'public' });
  const address = await listen(server, '127.0.0.1', port);
  ready(address, async () => {
    await closeServer(server, 1_000);
    await router.close(1_000);
  });
}

function ready(address: AddressInfo, close: () => Promise<unknown>): void {
  process.stdout.write(`ready ${address.port}\n`);
  process.once('SIGTERM', () => {
    void close().finally(() => process.exit(0));
  });
}

function portArg(value: string | undefined, name: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new Error(`${name} must be a port number, got ${String(value)}`);
  return port;
}

const [role, a, b] = process.argv.slice(2);
const started =
  role === 'backend'
    ? backend(portArg(a, 'port'))
    : role === 'proxy'
      ? proxy(portArg(a, 'port'), portArg(b, 'backendPort'))
      : Promise.reject(new Error(`usage: child.js backend <port> | proxy <port> <backendPort> (got ${String(role)})`));
started.catch((err: Error) => {
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
});
