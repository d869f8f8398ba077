// The processes the proxy benchmark measures, one role per process so that each has a core's
// worth of event loop of its own and its RSS can be read from outside:
//   node dist/bench/child.js backend <port>              a tiny HTTP backend (the "bare backend")
//   node dist/bench/child.js proxy <port> <backendPort>  our proxy: the real Router + createProxyServer
//   node dist/bench/child.js metered <port> <backendPort>  the same with the daemon's metrics on (meter + registry)
// Each prints `ready <port>` once it listens and exits on SIGTERM.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ReconcilerStatus } from '../common/status.js';
import { TrafficMeter } from '../proxy/meter.js';
import { Router } from '../proxy/router.js';
import { HypervisorMetrics } from '../reconciler/metrics.js';
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

async function proxy(port: number, backendPort: number, metered: boolean): Promise<void> {
  const router = new Router({ drainTimeoutMs: 1_000 });
  await router.setActive('blue', backendPort);
  const meter = metered ? new TrafficMeter() : undefined;
  if (meter) scrapeNow(new HypervisorMetrics({ meter, router, status: notObserved, activeColor: () => 'blue' }));
  const server = createProxyServer({ router, which: 'public', meter });
  const address = await listen(server, '127.0.0.1', port);
  ready(address, async () => {
    await closeServer(server, 1_000);
    await router.close(1_000);
  });
}

/** As Prometheus would, every 15 s: the scrape's own cost is part of what is measured. */
function scrapeNow(metrics: HypervisorMetrics): void {
  setInterval(() => void metrics.text(), 15_000).unref();
}

/** No loop runs here: no color was seen Ready. */
function notObserved(): Pick<ReconcilerStatus, 'colors'> {
  return { colors: null };
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
    : role === 'proxy' || role === 'metered'
      ? proxy(portArg(a, 'port'), portArg(b, 'backendPort'), role === 'metered')
      : Promise.reject(
          new Error(`usage: child.js backend <port> | proxy|metered <port> <backendPort> (got ${String(role)})`),
        );
started.catch((err: Error) => {
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
});
