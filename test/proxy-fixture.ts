// What the proxy tests share: a Router with its public and preview listeners on loopback, started
// and closed per test, and small readers for the answers.
import { expect } from 'chai';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Router, type RouterOptions } from '../proxy/router.js';
import { closeServer, createProxyServer, listen, type ProxyServerOptions } from '../proxy/server.js';
import type { SimpleResponse } from './harness/http-backends.js';

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export type ServerSettings = Omit<ProxyServerOptions, 'router' | 'which' | 'apiHandler'>;

export interface ProxyFixture {
  router: Router;
  publicServer: Server;
  previewServer: Server;
  publicPort: number;
  previewPort: number;
  close(): Promise<void>;
}

export function apiHandler(req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ api: true, url: req.url }));
}

export async function startProxy(
  routerOptions: RouterOptions = {},
  settings: ServerSettings = {},
): Promise<ProxyFixture> {
  const router = new Router({ drainTimeoutMs: 2_000, ...routerOptions });
  const publicServer = createProxyServer({ router, apiHandler, which: 'public', ...settings });
  const previewServer = createProxyServer({ router, which: 'preview', ...settings, tls: undefined });
  const publicPort = (await listen(publicServer, '127.0.0.1', 0)).port;
  const previewPort = (await listen(previewServer, '127.0.0.1', 0)).port;
  return {
    router,
    publicServer,
    previewServer,
    publicPort,
    previewPort,
    close: async () => {
      await Promise.all([closeServer(publicServer, 1_000), closeServer(previewServer, 1_000)]);
      await router.close(1_000);
    },
  };
}

export function colorOf(res: SimpleResponse): string {
  expect(res.status, res.body).to.equal(200);
  return (JSON.parse(res.body) as { color: string }).color;
}

export function errorOf(res: SimpleResponse): { code: string; message: string } {
  expect(res.headers['content-type']).to.match(/^application\/json/);
  return (JSON.parse(res.body) as { error: { code: string; message: string } }).error;
}

export function seenHeaders(res: SimpleResponse): Record<string, string> {
  expect(res.status, res.body).to.equal(200);
  return (JSON.parse(res.body) as { headers: Record<string, string> }).headers;
}
