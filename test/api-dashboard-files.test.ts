// The dashboard's files as the daemon serves them: no token needed for the page (it holds no data),
// everything from the daemon itself under a CSP that allows no other origin, and a clear 503 when the
// bundle was never built. Real daemon and real sockets; the bundle is the one `npm run build` made.
import { expect } from 'chai';
import express from 'express';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorHandler } from '../api/http-error.js';
import { dashboardRoutes } from '../api/routes/dashboard.js';
import { scratchDir } from '../harness/daemon-process.js';
import { startTestDaemon, type TestDaemon } from './api-harness.js';

describe('api: the dashboard is served by the daemon, from the daemon only', function () {
  this.timeout(60_000);
  let hv: TestDaemon;
  before(async () => {
    hv = await startTestDaemon();
  });
  after(async () => {
    await hv?.close();
  });

  it('serves the page without a token, under a CSP that names no other origin', async () => {
    const page = await hv.call('GET', '/ui/');
    expect(page.status).to.equal(200);
    expect(page.headers['content-type']).to.match(/^text\/html/);
    const policy = String(page.headers['content-security-policy']);
    expect(policy).to.contain("default-src 'none'").and.contain("script-src 'self'").and.contain("connect-src 'self'");
    expect(policy).not.to.match(/https?:/);
    expect(page.headers['x-content-type-options']).to.equal('nosniff');
    expect(page.text, 'every asset from the daemon').not.to.match(/(src|href)="(https?:)?\/\//);
    for (const asset of page.text.match(/\/hypervisor\/ui\/[\w.]+/g) ?? []) {
      const answer = await hv.call('GET', asset.replace('/hypervisor', ''));
      expect(answer.status, asset).to.equal(200);
      expect(answer.text.length, asset).to.be.greaterThan(1000);
    }
  });

  it('answers 404 for a file that is not there, and the API still needs a token', async () => {
    expect((await hv.call('GET', '/ui/nothing.js')).status).to.equal(404);
    expect((await hv.call('GET', '/status')).status).to.equal(401);
  });

  it('answers 503 with the command to run when the dashboard was not built', async () => {
    const empty = await scratchDir('hv-ui-empty-');
    const app = express().use('/hypervisor', dashboardRoutes(empty.dir)).use(errorHandler);
    const server = http.createServer(app).listen(0, '127.0.0.1');
    try {
      await once(server, 'listening');
      const { port } = server.address() as AddressInfo;
      const answer = await fetch(`http://127.0.0.1:${port}/hypervisor/ui/`);
      expect(answer.status).to.equal(503);
      const body = (await answer.json()) as { error: { code: string; message: string } };
      expect(body.error.code).to.equal('dashboard_not_built');
      expect(body.error.message).to.contain('npm run build:ui');
    } finally {
      server.close();
      await once(server, 'close');
      await empty.remove();
    }
  });
});
