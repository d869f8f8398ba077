// The daemon's metrics wiring: what the loop reports (builds, promotions) into the registry, and
// `metrics.listen`, an extra listener for Prometheus that serves the metrics and nothing else,
// without auth (bind it to an address only the scraper reaches): the text of GET /hypervisor/metrics.
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/config.js';
import { closeServer } from '../proxy/server.js';
import type { HypervisorMetrics } from '../reconciler/metrics.js';
import type { Loop } from '../reconciler/loop.js';
import type { Store } from '../store/store.js';
import { listenOrExplain } from './listeners.js';

export interface MetricsText {
  readonly contentType: string;
  text(): Promise<string>;
}

const PATHS = new Set(['/hypervisor/metrics', '/metrics']);

/** Builds that finished (their BUILD and TEST steps) and promotions, counted for Prometheus. */
export function watchLoopMetrics(reconciler: Loop, store: Store, metrics: HypervisorMetrics): void {
  reconciler.onBuildFinished((tag) => {
    store.getRelease(tag).then(
      (record) => record && metrics.release(record),
      () => undefined, // the metric is lost; the build's own record and events say what happened
    );
  });
  reconciler.onPromoted(() => metrics.deploy('promoted'));
}

/** Opens `metrics.listen` when configured; its address, or null. */
export async function listenMetrics(
  config: Config,
  metrics: MetricsText,
  closers: Array<() => Promise<unknown>>,
): Promise<AddressInfo | null> {
  if (!config.metrics.listen) return null;
  const server = createMetricsServer(metrics);
  closers.unshift(() => closeServer(server, 5_000));
  const { host, port } = config.metrics.listen;
  return listenOrExplain(server, host, port, 'metrics.listen');
}

export function createMetricsServer(metrics: MetricsText): Server {
  return http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0] as string;
    if (!PATHS.has(path)) return answer(res, 404, 'not_found', 'this listener serves GET /hypervisor/metrics only');
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return answer(res, 405, 'method_not_allowed', 'the metrics are read with GET');
    metrics.text().then(
      (text) => {
        res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (err: unknown) => answer(res, 500, 'internal', `the metrics could not be collected: ${(err as Error).message}`),
    );
  });
}

function answer(res: http.ServerResponse, status: number, code: string, message: string): void {
  const body = JSON.stringify({ error: { code, message } });
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}
