// The route table against a real daemon: every route in the OpenAPI document with the role its
// guard demands, 401 without a token, 403 for a role that may not, strict bodies, and the admin
// socket (no token, mode 0600, actor "hyperctl").
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { chmod, stat } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { apiRouter, createApi } from '../api/app.js';
import { createAuth } from '../api/auth/setup.js';
import type { ApiDeps } from '../api/deps.js';
import type { DiffAnswer } from '../api/wire.js';
import { DesiredStateService } from '../desired-state/revisions.js';
import { request, routesOf, startTestDaemon, type RouteInfo, type TestDaemon } from './api-harness.js';
import { waitForEvent } from './harness/http-backends.js';
import { waitForCondition } from './harness/wait.js';

type ErrorBody = { error: { code: string; message: string } };
type OpenApi = { openapi: string; paths: Record<string, Record<string, { 'x-required-role'?: string }>> };
const run = promisify(execFile);
const PUBLIC = new Set(['GET /healthz', 'POST /auth/login']);
const SAMPLE: Record<string, string> = { tag: 'v26.11.27.0', name: 'nobody', kind: 'build' };

describe('api: routes, roles, bodies and the admin socket (real daemon)', function () {
  this.timeout(60_000);
  let hv: TestDaemon;
  let routes: RouteInfo[];
  let viewer: string;
  let operator: string;
  let admin: string;

  before(async () => {
    hv = await startTestDaemon();
    const { store, reconciler, config } = hv.daemon;
    const deps: ApiDeps = {
      desired: new DesiredStateService(store, config.app.tagPattern),
      reconciler,
      store,
      ...(await createAuth(config.auth, store)),
      logsDir: path.join(config.root, 'logs'),
      daemon: { version: 'test', startedAt: '', driver: 'process', store: 'embedded' },
      readiness: { notReady: () => null },
    };
    routes = routesOf(apiRouter(deps, 'public'));
    await hv.addUser('vera', 'viewer');
    await hv.addUser('otto', 'operator');
    await hv.addUser('ada', 'admin');
    [viewer, operator, admin] = await Promise.all([hv.login('vera'), hv.login('otto'), hv.login('ada')]);
  });
  after(async () => {
    await hv?.close();
  });

  const concrete = (route: RouteInfo): string =>
    route.path.replace(/:(\w+)/g, (_m, name: string) => SAMPLE[name] ?? name);
  const snapshot = async (): Promise<string> =>
    (await hv.admin('GET', '/desired/history')).text +
    (await hv.admin('GET', '/events?limit=1000')).text +
    (await hv.admin('GET', '/users')).text;

  it('answers an unexpected error with a fixed 500 message and keeps the details in the log', async () => {
    const { store, reconciler, config } = hv.daemon;
    const secret = 'SQLITE_CORRUPT at /var/lib/secret-path.db';
    const failing = Object.create(store, {
      listRecentEvents: { value: () => Promise.reject(new Error(secret)) },
    }) as typeof store;
    const deps: ApiDeps = {
      desired: new DesiredStateService(store, config.app.tagPattern),
      reconciler,
      store: failing,
      ...(await createAuth(config.auth, store)),
      logsDir: path.join(config.root, 'logs'),
      daemon: { version: 'test', startedAt: '', driver: 'process', store: 'embedded' },
      readiness: { notReady: () => null },
    };
    const server = http.createServer(createApi(deps, 'admin'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const logged: unknown[][] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => void logged.push(args);
    try {
      const answer = await request<ErrorBody>(
        { host: '127.0.0.1', port: (server.address() as AddressInfo).port },
        'GET',
        '/events',
      );
      expect(answer.status).to.equal(500);
      expect(answer.json.error).to.deep.equal({
        code: 'internal',
        message: "internal error; see the hypervisor's log",
      });
      expect(answer.text).to.not.contain('secret-path');
      expect(
        logged.some((args) => args.some((a) => a instanceof Error && a.message === secret)),
        'the details are logged',
      ).to.equal(true);
    } finally {
      console.error = original;
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('describes every express route in openapi.json with the role its guard demands, and nothing else', async () => {
    expect(routes.length).to.be.at.least(20);
    const doc = (await hv.call<OpenApi>('GET', '/openapi.json', { token: viewer })).json;
    expect(doc.openapi).to.equal('3.1.0');
    for (const route of routes) {
      const described = doc.paths[route.path.replace(/:(\w+)/g, '{$1}')]?.[route.method];
      expect(described, `${route.method} ${route.path} is not in the OpenAPI document`).to.not.equal(undefined);
      expect(described!['x-required-role'], `${route.method} ${route.path}`).to.equal(route.role);
    }
    const routed = new Set(routes.map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`));
    for (const [p, ops] of Object.entries(doc.paths)) {
      if (p.startsWith('/webhooks/')) continue; // mounted only when the daemon wires a webhook receiver
      for (const method of Object.keys(ops))
        expect(routed.has(`${method} ${p}`), `${method} ${p} is documented but not routed`).to.equal(true);
    }
  });

  it('guards every route but healthz and login, and answers 401 without a valid token', async () => {
    for (const route of routes) {
      const key = `${route.method.toUpperCase()} ${route.path}`;
      expect(route.role === undefined, `${key} guard`).to.equal(PUBLIC.has(key));
      if (PUBLIC.has(key)) continue;
      const answer = await hv.call<ErrorBody>(route.method.toUpperCase(), concrete(route), { body: {} });
      expect(answer.status, key).to.equal(401);
      expect(answer.json.error.code, key).to.equal('unauthorized');
    }
    expect((await hv.call('GET', '/healthz')).status).to.equal(200);
  });

  it('gives a viewer 403 on every operator and admin route, and nothing is written', async () => {
    const before = await snapshot();
    for (const route of routes.filter((r) => r.role === 'operator' || r.role === 'admin')) {
      const answer = await hv.call<ErrorBody>(route.method.toUpperCase(), concrete(route), { token: viewer, body: {} });
      expect(answer.status, `${route.method} ${route.path}`).to.equal(403);
      expect(answer.json.error.code).to.equal('forbidden');
    }
    const operatorOnUsers = await hv.call('GET', '/users', { token: operator });
    expect(operatorOnUsers.status, 'an operator is not an admin').to.equal(403);
    expect(await snapshot()).to.equal(before);
  });

  it('lets a viewer read every viewer route', async () => {
    for (const route of routes.filter((r) => r.role === 'viewer' && r.method === 'get')) {
      const answer = await hv.call(route.method.toUpperCase(), concrete(route), { token: viewer });
      expect(answer.status, `${route.method} ${route.path}: ${answer.text}`).to.be.oneOf([200, 404]);
    }
    expect((await hv.call('GET', '/status', { token: viewer })).status).to.equal(200);
    expect((await hv.call('GET', '/plan', { token: viewer })).status).to.equal(200);
  });

  it('refuses unknown fields, wrong types, operator-like values, a color named ../etc: 400, no write', async () => {
    const before = await snapshot();
    const bad: Array<[string, string, unknown, string?]> = [
      ['POST', '/switch', { to: 'green', force: true }],
      ['POST', '/switch', { to: '../etc' }],
      ['POST', '/switch', { to: { $ne: null } }],
      ['POST', '/stage', { tag: 'v26.11.27.0', color: '../etc' }],
      ['POST', '/stage', { tag: '../etc' }],
      ['POST', '/stage', { tag: { $ne: null } }],
      ['POST', '/stage', { tag: 'v26.11.27.0', extra: 1 }],
      ['POST', '/stage', ['v26.11.27.0']],
      ['POST', '/pause', { paused: false }],
      ['POST', '/rollback', { to: 'blue' }],
      ['PUT', '/desired', { active: { $ne: null } }],
      ['PUT', '/desired', { active: 'blue', colors: { '../etc': { tag: 'v26.11.27.0' } } }],
      ['PUT', '/desired', 'active: blue\ncolors:\n  ../etc: { tag: v26.11.27.0 }\n', 'application/yaml'],
      ['PUT', '/desired?confirm=yes', { colors: {} }],
      ['PUT', '/desired', { colors: {}, allowOutage: 'yes' }],
      ['POST', '/users', { username: 'eve', password: 'long enough password', roles: ['root'] }],
      ['POST', '/users', { username: 'eve', password: 'long enough password', roles: [{ $ne: null }] }],
      ['POST', '/users', { username: { $ne: null }, password: 'long enough password', roles: ['viewer'] }],
      ['POST', '/users', { username: '../etc', password: 'long enough password', roles: ['viewer'] }],
      ['PUT', '/users/ada', { roles: ['admin'], isAdmin: true }],
    ];
    for (const [method, route, body, type] of bad) {
      const answer = await hv.call<ErrorBody>(method, route, { token: admin, body, type });
      expect(answer.status, `${method} ${route} ${JSON.stringify(body)}: ${answer.text}`).to.equal(400);
      expect(Object.keys(answer.json)).to.deep.equal(['error']);
      expect(answer.json.error.code).to.be.a('string');
      expect(answer.json.error.message).to.be.a('string');
    }
    for (const route of [
      '/releases/..%2Fetc',
      '/releases/..%2F..%2Fetc%2Fpasswd/logs/build',
      '/releases/v26.11.27.0%2F..%2F..%2Fetc/logs/test',
    ]) {
      expect((await hv.call('GET', route, { token: viewer })).status, route).to.equal(400);
    }
    const plain = await hv.call<ErrorBody>('POST', '/switch', {
      token: operator,
      body: '{"to":"green"}',
      type: 'text/plain',
    });
    expect(plain.status).to.equal(415);
    expect(await snapshot()).to.equal(before);
  });

  it('serves the same API on the admin socket without a token, as "hyperctl", and audits it', async () => {
    const me = await hv.admin<{ username: string; via: string; roles: string[] }>('GET', '/auth/me');
    expect(me.json).to.deep.include({ username: 'hyperctl', via: 'admin-socket', roles: ['admin'] });
    expect((await hv.admin('GET', '/openapi.json')).status).to.equal(200);
    const paused = await hv.admin('POST', '/pause');
    expect(paused.status).to.equal(201);
    const resumed = await hv.admin('POST', '/resume');
    expect(resumed.status).to.equal(201);
    const { events } = (await hv.admin<{ events: Array<{ reason: string; actor: string }> }>('GET', '/events')).json;
    expect(events.filter((e) => e.reason === 'Paused' || e.reason === 'Resumed').map((e) => e.actor)).to.deep.equal([
      'hyperctl',
      'hyperctl',
    ]);
    const history = (await hv.admin<{ revisions: Array<{ author: string }> }>('GET', '/desired/history')).json
      .revisions;
    expect(history[0]!.author).to.equal('hyperctl');
  });

  it('keeps the admin socket at mode 0600, so another user cannot connect', async () => {
    const info = await stat(hv.socket);
    expect(info.isSocket()).to.equal(true);
    expect(info.mode & 0o777).to.equal(0o600);
    expect(info.uid).to.equal(process.getuid!());
    if (process.getuid!() !== 0) return; // only root can act as another user to try it
    // Let `nobody` reach the folder, so that only the socket's own mode stands in its way.
    await chmod(hv.dir, 0o755);
    try {
      const probe =
        `require('node:http').get({ socketPath: ${JSON.stringify(hv.socket)}, path: ` +
        `'/hypervisor/status' }, (r) => console.log('status', r.statusCode)).on('error', (e) => console.log(e.code))`;
      const { stdout } = await run(process.execPath, ['-e', probe], { uid: 65534, gid: 65534, timeout: 10_000 });
      expect(stdout.trim()).to.equal('EACCES');
    } finally {
      await chmod(hv.dir, 0o700);
    }
  });

  it('streams new events to a follower (?follow=1, NDJSON) as they happen', async () => {
    const lines: string[] = [];
    const req = http.get(`${hv.url}/hypervisor/events?follow=1&limit=1`, {
      headers: { authorization: `Bearer ${viewer}` },
    });
    const response = await new Promise<http.IncomingMessage>((resolve, reject) =>
      req.once('response', resolve).once('error', reject),
    );
    try {
      expect(response.statusCode).to.equal(200);
      expect(response.headers['content-type']).to.match(/^application\/x-ndjson/);
      let buffered = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffered += chunk;
        const parts = buffered.split('\n');
        buffered = parts.pop()!;
        lines.push(...parts.filter((l) => l.trim() !== ''));
      });
      await hv.call('POST', '/pause', { token: operator });
      await waitForCondition(
        'a Paused event on the stream',
        () => lines.some((l) => (JSON.parse(l) as { reason: string }).reason === 'Paused'),
        5_000,
      );
      const paused = lines
        .map((l) => JSON.parse(l) as { reason: string; actor: string })
        .find((e) => e.reason === 'Paused');
      expect(paused, lines.join('\n')).to.deep.include({ reason: 'Paused', actor: 'otto' });
    } finally {
      req.destroy();
      await hv.call('POST', '/resume', { token: operator });
    }
  });
});

describe('api: a follow stream ends when its caller may no longer read', function () {
  this.timeout(60_000);
  let hv: TestDaemon;
  before(async () => {
    hv = await startTestDaemon();
  });
  after(async () => {
    await hv?.close();
  });

  it('closes ?follow=1 within a few seconds after the user is removed', async () => {
    await hv.addUser('fleeting', 'viewer');
    const token = await hv.login('fleeting');
    const req = http.get(`${hv.url}/hypervisor/events?follow=1&limit=1`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const response = await new Promise<http.IncomingMessage>((resolve, reject) =>
      req.once('response', resolve).once('error', reject),
    );
    try {
      expect(response.statusCode).to.equal(200);
      response.resume();
      const ended = waitForEvent(response, 'end', () => true, 15_000).catch((err: Error) => err);
      expect((await hv.admin('DELETE', '/users/fleeting')).status).to.be.oneOf([200, 204]);
      expect(await ended, 'the stream went on after the user was removed').to.equal(undefined);
    } finally {
      req.destroy();
    }
  });
});

describe('api: GET /hypervisor/desired content negotiation (real daemon)', function () {
  this.timeout(60_000);
  let hv: TestDaemon;
  before(async () => {
    hv = await startTestDaemon();
    const put = await hv.admin('PUT', '/desired', {
      body: 'active: null\ncolors: {}\npaused: true\n',
      type: 'application/yaml',
    });
    expect(put.status, put.text).to.be.oneOf([200, 201]);
  });
  after(async () => {
    await hv?.close();
  });

  for (const accept of ['application/yaml', 'application/x-yaml', 'text/yaml']) {
    it(`answers YAML for Accept: ${accept}`, async () => {
      const answer = await hv.admin('GET', '/desired', { headers: { accept } });
      expect(answer.status).to.equal(200);
      expect(answer.headers['content-type']).to.match(/yaml/);
      expect(answer.text).to.match(/^paused: true$/m);
    });
  }

  it('answers JSON for Accept: */* and application/json', async () => {
    for (const accept of ['*/*', 'application/json']) {
      const answer = await hv.admin<{ doc: { paused: boolean } }>('GET', '/desired', { headers: { accept } });
      expect(answer.headers['content-type']).to.match(/json/);
      expect(answer.json.doc.paused).to.equal(true);
    }
  });

  it('POST /desired/diff compares YAML or JSON with the latest revision and writes nothing', async () => {
    const before = await hv.admin<{ number: number }>('GET', '/desired');
    const yaml = await hv.admin<DiffAnswer>('POST', '/desired/diff', {
      body: 'active: blue\ncolors: { blue: { tag: v1.2.3 } }\npaused: true\n',
      type: 'application/yaml',
    });
    expect(yaml.status, yaml.text).to.equal(200);
    expect(yaml.json).to.deep.include({ revision: before.json.number, differs: true });
    expect(yaml.json.changes).to.deep.equal(['blue: none -> v1.2.3', 'active: none -> blue']);
    const json = await hv.admin<DiffAnswer>('POST', '/desired/diff', { body: { paused: true } });
    expect(json.json).to.deep.include({ differs: false, changes: [] });
    const unsafe = await hv.admin<ErrorBody>('POST', '/desired/diff', {
      body: { colors: { blue: { tag: 'v1/../x' } } },
    });
    expect(unsafe.status).to.equal(400);
    expect(unsafe.json.error.code).to.equal('invalid');
    expect((await hv.admin<{ number: number }>('GET', '/desired')).json.number).to.equal(before.json.number);
  });
});
