// Fault: hostile nesting. Every route of the OpenAPI document that takes a body (every method but
// GET) gets 30,000 nested `[` -- the probe that once overflowed the stack in JSON.stringify and
// describeValue -- and must answer 400 naming the limit, change nothing, and leave the daemon up
// with no stack trace in its log. A body within the limit still reaches its route.
import { expect } from 'chai';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { openApiDocument } from '../../api/openapi.js';
import { MAX_NESTING } from '../../common/limits.js';
import type { Answer } from '../api-harness.js';
import { PASSWORD } from '../api-harness.js';
import { post, signed, TEST_SECRET } from '../../harness/github-deliveries.js';
import { storeCounts } from '../harness/store-counts.js';
import { STACK_LINE, startFaultHost, type FaultHost } from './fault-host.js';

type ErrorBody = { error: { code: string; message: string } };
const REPOSITORY = 'test-org/backend';
const DEEP = 30_000;
const SAMPLE: Record<string, string> = { tag: 'v26.11.27.0', name: 'ada' };
const LIMIT_MESSAGE = new RegExp(`nests deeper than ${MAX_NESTING} levels`);

/** `{"<field>": [[[...]]], ...}` with `depth` levels in all, the object included. */
function nestedJson(field: string, depth: number, rest = ''): string {
  return `{"${field}":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}${rest}}`;
}

describe('faults: deep nesting on every body-taking route (real daemon process)', function () {
  this.timeout(120_000);
  let hv: FaultHost;
  let token: string;

  before(async () => {
    hv = await startFaultHost('nesting', {
      extraConfig: `github: { repository: ${REPOSITORY}, secretFile: {dir}/webhook-secret }`,
      prepare: (dir) => writeFile(path.join(dir, 'webhook-secret'), `${TEST_SECRET}\n`, { mode: 0o600 }),
    });
    const created = await hv.admin('POST', '/users', {
      body: { username: 'ada', password: PASSWORD, roles: ['admin'] },
    });
    expect(created.status, created.text).to.equal(201);
    const login = await hv.call<{ token: string }>('POST', '/auth/login', {
      body: { username: 'ada', password: PASSWORD },
    });
    expect(login.status, login.text).to.equal(200);
    token = login.json.token;
    const desired = await hv.admin('PUT', '/desired', { body: { active: null, colors: {}, paused: true } });
    expect(desired.status, desired.text).to.equal(201);
  });
  after(async () => {
    await hv?.close();
  });

  /** What a refused request must not change: revisions, users, releases, deliveries, audit events. */
  const snapshot = async (): Promise<string> => {
    const events = (await hv.admin<{ events: Array<{ actor: string }> }>('GET', '/events?limit=1000')).json.events;
    return JSON.stringify({
      history: (await hv.admin('GET', '/desired/history')).json,
      users: (await hv.admin('GET', '/users')).json,
      releases: (await hv.admin('GET', '/releases')).json,
      counts: storeCounts(hv.storePath),
      audit: events.filter((e) => e.actor !== 'reconciler'),
    });
  };

  const expectTooDeep = (answer: Answer<unknown>, what: string): void => {
    expect(answer.status, `${what}: ${answer.text}`).to.equal(400);
    const { error } = answer.json as ErrorBody;
    expect(error.code, what).to.equal('too_deep');
    expect(error.message, what).to.match(LIMIT_MESSAGE);
  };

  const bodyRoutes = (): Array<{ method: string; route: string }> => {
    const paths = openApiDocument('test').paths as Record<string, Record<string, unknown>>;
    return Object.entries(paths).flatMap(([route, methods]) =>
      Object.keys(methods)
        .filter((method) => method !== 'get')
        .map((method) => ({
          method: method.toUpperCase(),
          route: route.replace(/\{(\w+)\}/g, (_m, name: string) => SAMPLE[name] ?? name),
        })),
    );
  };

  it('answers 400 naming the limit on every route, changes nothing, and stays up without a stack', async () => {
    const before = await snapshot();
    const routes = bodyRoutes();
    expect(routes.map((r) => `${r.method} ${r.route}`)).to.include.members([
      'POST /webhooks/github',
      'POST /auth/login',
      'PUT /desired',
      'POST /stage',
      'POST /users',
      'PUT /users/ada',
    ]);
    for (const { method, route } of routes) {
      if (route === '/webhooks/github') {
        const delivery = signed(TEST_SECRET, 'push', nestedJson('ref', DEEP));
        const answer = await post(hv.publicUrl, delivery);
        expect(answer.status, JSON.stringify(answer.json)).to.equal(400);
        expect(answer.json.error?.code).to.equal('too_deep');
        expect(answer.json.error?.message).to.match(LIMIT_MESSAGE);
        continue;
      }
      const field = route === '/auth/login' ? 'username' : 'tag';
      expectTooDeep(await hv.call(method, route, { token, body: nestedJson(field, DEEP) }), `${method} ${route}`);
    }
    expect(await snapshot()).to.equal(before);
    expect(await hv.alive()).to.equal(true);
    expect(hv.output()).not.to.match(STACK_LINE);
    expect(hv.output()).not.to.include('Maximum call stack');
  });

  it('refuses deep YAML in PUT /desired, flow or block, naming the limit', async () => {
    const before = await snapshot();
    const flow = `active: ${'['.repeat(DEEP)}${']'.repeat(DEEP)}\n`;
    const block = `colors:\n  blue:\n    ${'- '.repeat(DEEP)}x\n`;
    const mapping = Array.from({ length: 200 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n');
    for (const [name, text] of Object.entries({ flow, block, mapping })) {
      const answer = await hv.call('PUT', '/desired', { token, body: text, type: 'application/yaml' });
      expectTooDeep(answer, `${name} YAML`);
      expect((answer.json as ErrorBody).error.message).to.equal(
        `desired state nests deeper than ${MAX_NESTING} levels`,
      );
    }
    expect(await snapshot()).to.equal(before);
    expect(await hv.alive()).to.equal(true);
  });

  it('lets a body nesting exactly to the limit reach its route, and refuses one level more', async () => {
    const within = await hv.call<ErrorBody>('POST', '/auth/login', { body: nestedJson('username', MAX_NESTING) });
    expect(within.status, within.text).to.equal(400);
    expect(within.json.error.code).to.equal('invalid_body');
    expect(within.json.error.message).to.match(/field "username" must be a string, got \[\[\[/);
    const over = await hv.call('POST', '/auth/login', { body: nestedJson('username', MAX_NESTING + 1) });
    expectTooDeep(over, 'one level over');
    expect((over.json as ErrorBody).error.message).to.equal(`request body nests deeper than ${MAX_NESTING} levels`);
  });

  it('reads query strings flat: bracketed keys are names, a repeated key is refused', async () => {
    const deepKey = `a${'[x]'.repeat(2_000)}=1`;
    const flat = await hv.call('GET', `/desired/history?${deepKey}`, { token });
    expect(flat.status, flat.text).to.equal(200);
    const twice = await hv.call<ErrorBody>('GET', '/desired/history?limit=1&limit=2', { token });
    expect(twice.status).to.equal(400);
    expect(twice.json.error.code).to.equal('invalid_query');
    const nested = await hv.call<ErrorBody>('GET', '/desired/history?limit[a][b]=1', { token });
    expect(nested.status, nested.text).to.equal(200);
    expect(await hv.alive()).to.equal(true);
  });
});
