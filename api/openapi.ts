// The OpenAPI 3.1 description of /hypervisor/*, served at GET /hypervisor/openapi.json. A test walks
// the express routes and checks each one is described here with the role its guard demands
// (`x-required-role`; absent means no token), and that nothing is described that is not routed.
import { SAFE_TAG } from '../common/git-names.js';
import type { Role } from '../common/types.js';
import { notifySchemas } from './openapi-notify.js';

type Schema = Record<string, unknown>;
type Operation = Record<string, unknown>;

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Schema): Schema => ({ content: { 'application/json': { schema } } });
const ERROR = { description: 'an error', ...json(ref('Error')) };

function op(summary: string, role: Role | null, ok: Record<string, unknown>, extra: Operation = {}): Operation {
  const errors: Record<string, unknown> = { 400: ERROR, 500: ERROR };
  if (role)
    Object.assign(errors, {
      401: { ...ERROR, description: 'no valid token' },
      403: { ...ERROR, description: `the caller lacks the ${role} role` },
    });
  return {
    summary,
    security: role ? [{ bearer: [] }, { cookie: [] }] : [],
    ...(role ? { 'x-required-role': role } : {}),
    ...extra,
    responses: { ...ok, ...errors, ...(extra.responses as object | undefined) },
  };
}

const body = (schema: Schema, required = true): Operation => ({ requestBody: { required, ...json(schema) } });
const query = (name: string, description: string, schema: Schema = { type: 'integer', minimum: 0 }): Schema => ({
  name,
  in: 'query',
  required: false,
  description,
  schema,
});
const pathParam = (name: string, schema: Schema = { type: 'string' }): Schema => ({
  name,
  in: 'path',
  required: true,
  schema,
});
const FOLLOW = query('follow', '1: stream (until the step or the session ends)', {
  type: 'string',
  enum: ['0', '1', 'true', 'false'],
});
const SSE = query(
  'sse',
  '1 (or Accept: text/event-stream): stream server-sent events; a reconnect resumes after Last-Event-ID',
  { type: 'string', enum: ['0', '1', 'true', 'false'] },
);
const answer = (schema: Schema, description = 'ok'): Record<string, unknown> => ({
  200: { description, ...json(schema) },
});
const change = {
  200: { description: 'unchanged', ...json(ref('Change')) },
  201: { description: 'a new revision', ...json(ref('Change')) },
};
const conflict = { 409: { ...ERROR, description: 'the color is not Ready' } };
const DEPLOYMENTS = { type: 'object', properties: { deployments: { type: 'array', items: ref('Deployment') } } };

const paths: Record<string, Record<string, Operation>> = {
  '/healthz': {
    get: op('the daemon itself: 200 once every listener and the loop are up', null, answer({ type: 'object' }), {
      responses: { 503: { ...ERROR, description: 'starting or stopping; the message says what is not up yet' } },
    }),
  },
  '/webhooks/github': {
    post: op(
      'a GitHub delivery (X-Hub-Signature-256 authenticates it; replays are refused)',
      null,
      answer({ type: 'object' }),
    ),
  },
  '/openapi.json': { get: op('this document', 'viewer', answer({ type: 'object' })) },
  '/auth/login': {
    post: op(
      'log in: a short-lived token bound to a session (cookie: true puts it in an HttpOnly cookie instead)',
      null,
      answer({ oneOf: [ref('Login'), ref('CookieLogin')] }),
      {
        ...body(ref('LoginRequest')),
        responses: {
          401: { ...ERROR, description: 'wrong username or password' },
          429: { ...ERROR, description: 'locked out; see Retry-After' },
        },
      },
    ),
  },
  '/auth/logout': { post: op("end this token's session", 'viewer', { 204: { description: 'logged out' } }) },
  '/auth/me': { get: op('who the token belongs to', 'viewer', answer(ref('Me'))) },
  '/status': {
    get: op('desired, observed and status together (follow: each change)', 'viewer', answer({ type: 'object' }), {
      parameters: [FOLLOW, SSE],
    }),
  },
  '/desired': {
    get: op(
      'the latest desired-state revision (JSON, or YAML with Accept: application/yaml)',
      'viewer',
      answer(ref('Revision')),
    ),
    put: op('replace the desired state (JSON or YAML); If-Match: <revision> guards lost updates', 'operator', change, {
      parameters: [
        { name: 'If-Match', in: 'header', required: false, schema: { type: 'string' } },
        query(
          'confirm',
          'outage: the change may leave no color serving (otherwise such a change is refused: would_stop_traffic)',
          { type: 'string', enum: ['outage'] },
        ),
      ],
      requestBody: {
        required: true,
        content: {
          'application/json': { schema: ref('DesiredRequest') },
          'application/yaml': { schema: { type: 'string' } },
        },
      },
      responses: {
        409: {
          ...ERROR,
          description:
            'would_stop_traffic: no color would serve while one serves now (confirm with ?confirm=outage); ' +
            'conflict: a concurrent change (the config repo moved), retry',
        },
        412: {
          ...ERROR,
          description: 'stale If-Match: the desired state is at another revision (code stale_revision)',
        },
      },
    }),
  },
  '/desired/diff': {
    post: op(
      'what replacing the desired state with this document (JSON or YAML) would change; nothing is written',
      'viewer',
      answer({
        type: 'object',
        properties: {
          revision: { type: ['integer', 'null'] },
          differs: { type: 'boolean' },
          changes: { type: 'array', items: { type: 'string' } },
          proposed: ref('DesiredDoc'),
        },
      }),
      {
        requestBody: {
          required: true,
          content: {
            'application/json': { schema: ref('DesiredDoc') },
            'application/yaml': { schema: { type: 'string' } },
          },
        },
      },
    ),
  },
  '/desired/history': {
    get: op(
      'desired-state revisions, newest first',
      'viewer',
      answer({ type: 'object', properties: { revisions: { type: 'array', items: ref('Revision') } } }),
      { parameters: [query('limit', '1 to 1000')] },
    ),
  },
  '/plan': {
    get: op(
      'the actions the next pass would take, from a fresh observation; nothing is done',
      'viewer',
      answer(ref('Plan')),
    ),
  },
  '/stage': {
    post: op(
      'put a tag on a color (default: the inactive one); the tag must be a release or in the backend repo',
      'operator',
      change,
      {
        ...body(ref('StageRequest')),
        responses: {
          404: {
            ...ERROR,
            description: 'unknown_tag: neither a release nor in the repo (details.newest names some that are)',
          },
          409: { ...ERROR, description: 'release_failed or release_rejected: the message names the log command' },
          503: { ...ERROR, description: 'repo_unreachable: the repo could not be fetched to look the tag up' },
        },
      },
    ),
  },
  '/switch': {
    post: op('move traffic to a Ready color (default: the other one)', 'operator', change, {
      ...body(ref('SwitchRequest'), false),
      responses: conflict,
    }),
  },
  '/rollback': {
    post: op(
      'move traffic back to the color that served before the last switch, if it still runs the tag ' +
        'it served then and is Ready',
      'operator',
      change,
      {
        responses: {
          409: {
            ...ERROR,
            description:
              'nothing_to_roll_back, not_ready, or rollback_target_changed (the message names both tags and the fix)',
          },
        },
      },
    ),
  },
  '/pause': { post: op('observe and report, change nothing (writes paused: true)', 'operator', change) },
  '/resume': { post: op('act again (writes paused: false)', 'operator', change) },
  '/reconcile': { post: op('run a reconcile pass now and report what it did', 'operator', answer({ type: 'object' })) },
  '/releases': {
    get: op(
      'release records, newest first',
      'viewer',
      answer({ type: 'object', properties: { releases: { type: 'array', items: ref('Release') } } }),
      { parameters: [query('limit', '1 to 1000')] },
    ),
  },
  '/releases/{tag}': {
    get: op('one release', 'viewer', answer({ type: 'object', properties: { release: ref('Release') } }), {
      parameters: [pathParam('tag')],
    }),
  },
  '/releases/{tag}/rebuild': {
    post: op(
      'build and test a release again, at the same commit (202: queued)',
      'operator',
      { 202: { description: 'queued', ...json({ type: 'object', properties: { release: ref('Release') } }) } },
      {
        parameters: [pathParam('tag')],
        responses: { 404: ERROR, 409: { ...ERROR, description: 'the release is being built right now' } },
      },
    ),
  },
  '/notify/{name}/test': {
    post: op(
      'send a test message to a notification target, once; the answer says whether it was delivered',
      'operator',
      answer(ref('NotifyTestAnswer')),
      {
        parameters: [pathParam('name')],
        responses: {
          404: { ...ERROR, description: 'no target of that name' },
          503: { ...ERROR, description: 'this daemon sends no notifications' },
        },
      },
    ),
  },
  '/releases/{tag}/logs/{kind}': {
    get: op(
      'a build or test log as text',
      'viewer',
      { 200: { description: 'the log', content: { 'text/plain': { schema: { type: 'string' } } } } },
      {
        parameters: [pathParam('tag'), pathParam('kind', { type: 'string', enum: ['build', 'test'] }), FOLLOW, SSE],
      },
    ),
  },
  '/events': {
    get: op(
      'the event trail (JSON), or with follow=1 a stream of events as newline-delimited JSON',
      'viewer',
      {
        200: {
          description: 'events',
          content: {
            'application/json': {
              schema: { type: 'object', properties: { events: { type: 'array', items: ref('Event') } } },
            },
            'application/x-ndjson': { schema: ref('Event') },
          },
        },
      },
      { parameters: [query('after', 'events with a greater id'), query('limit', '1 to 1000'), FOLLOW, SSE] },
    ),
  },
  '/deployments': {
    get: op(
      'the deployment ledger: which color served which tag, from when to when, switched by whom (newest first)',
      'viewer',
      answer(DEPLOYMENTS),
      { parameters: [query('limit', '1 to 1000 (default 100)')] },
    ),
  },
  '/users': {
    get: op(
      'hyperusers (never their hashes)',
      'admin',
      answer({ type: 'object', properties: { users: { type: 'array', items: ref('User') } } }),
    ),
    post: op(
      'create a hyperuser',
      'admin',
      { 201: { description: 'created', ...json({ type: 'object', properties: { user: ref('User') } }) } },
      {
        ...body(ref('UserCreate')),
        responses: { 409: { ...ERROR, description: 'the name exists' } },
      },
    ),
  },
  '/users/{name}': {
    put: op(
      "change a hyperuser's password and/or roles (ends its sessions)",
      'admin',
      answer({ type: 'object', properties: { user: ref('User') } }),
      {
        parameters: [pathParam('name')],
        ...body(ref('UserUpdate')),
        responses: { 404: ERROR },
      },
    ),
    delete: op(
      'remove a hyperuser (ends its sessions)',
      'admin',
      { 204: { description: 'removed' } },
      { parameters: [pathParam('name')], responses: { 404: ERROR } },
    ),
  },
};

const str = { type: 'string' };
const strict = (properties: Record<string, Schema>, required: string[] = []): Schema => ({
  type: 'object',
  additionalProperties: false,
  properties,
  required,
});
const ROLE = { type: 'string', enum: ['viewer', 'operator', 'admin'] };
const COLOR = { type: 'string', enum: ['blue', 'green'] };
const TAG = { type: ['string', 'null'], pattern: SAFE_TAG.source };

const schemas: Record<string, Schema> = {
  Error: strict({ error: strict({ code: str, message: str, details: { type: 'object' } }, ['code', 'message']) }, [
    'error',
  ]),
  Deployment: {
    type: 'object',
    properties: {
      id: { type: 'integer' },
      color: COLOR,
      tag: str,
      version: { type: ['string', 'null'] },
      revision: { type: 'integer', description: 'the desired-state revision that made this color serve this tag' },
      switchedBy: { ...str, description: "that revision's author" },
      source: str,
      startedAt: str,
      endedAt: { type: ['string', 'null'], description: 'null while it still serves' },
      endReason: { enum: ['switched', 'replaced', 'stopped', 'rolled_back', null] },
      gates: {
        type: 'array',
        description: 'the promotion gates, one per name (smoke before the switch, verify after it)',
        items: strict(
          {
            name: str,
            result: { enum: ['passed', 'failed', 'skipped'] },
            verdict: { ...str, description: 'in words and numbers' },
            measured: { type: 'object', additionalProperties: { type: 'number' } },
          },
          ['name', 'result', 'verdict', 'measured'],
        ),
      },
      verdict: { type: ['string', 'null'] },
    },
  },
  LoginRequest: strict(
    {
      username: { type: 'string', pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$' },
      password: { type: 'string', description: 'any Unicode, at most 512 bytes of UTF-8' },
      cookie: { type: 'boolean', description: "true: the dashboard's login, the token in an HttpOnly cookie" },
    },
    ['username', 'password'],
  ),
  Login: strict({
    token: str,
    tokenType: { const: 'Bearer' },
    expiresAt: str,
    username: str,
    roles: { type: 'array', items: ROLE },
  }),
  CookieLogin: strict({
    tokenType: { const: 'Cookie' },
    expiresAt: str,
    username: str,
    roles: { type: 'array', items: ROLE },
    csrfToken: { ...str, description: 'send it in X-CSRF-Token with every request that changes something' },
  }),
  Me: strict({
    username: str,
    roles: { type: 'array', items: ROLE },
    via: { enum: ['token', 'cookie', 'admin-socket'] },
    expiresAt: { type: ['string', 'null'] },
    csrfToken: { ...str, description: 'with the session cookie only' },
  }),
  DesiredDoc: strict({
    active: { ...COLOR, type: ['string', 'null'] },
    colors: strict({ blue: strict({ tag: TAG }), green: strict({ tag: TAG }) }),
    paused: { type: 'boolean' },
  }),
  DesiredRequest: {
    ...strict({
      active: { ...COLOR, type: ['string', 'null'] },
      colors: strict({ blue: strict({ tag: TAG }), green: strict({ tag: TAG }) }),
      paused: { type: 'boolean' },
      allowOutage: { type: 'boolean', description: 'true: this change may leave no color serving; never stored' },
    }),
    description:
      'a desired state to apply; missing keys take their defaults (active null, colors stopped, paused false)',
  },
  Revision: {
    type: 'object',
    properties: { number: { type: 'integer' }, doc: ref('DesiredDoc'), source: str, author: str, time: str },
  },
  Change: {
    type: 'object',
    properties: {
      revision: ref('Revision'),
      changed: { type: 'boolean' },
      waiting: { type: ['string', 'null'] },
      active: { type: ['string', 'null'] },
      color: { ...COLOR, description: 'stage: the color the tag went onto' },
      rollback: {
        type: 'object',
        description: 'rollback: where traffic goes back to, and what served until now',
        properties: { to: COLOR, tag: str, from: COLOR, fromTag: str },
      },
    },
  },
  StageRequest: strict({ tag: { type: 'string' }, color: COLOR }, ['tag']),
  SwitchRequest: strict({ to: COLOR }),
  Plan: {
    type: 'object',
    properties: {
      revision: { type: ['integer', 'null'] },
      actions: { type: 'array', items: { type: 'object' } },
      colors: { type: 'object' },
      waiting: { type: ['string', 'null'] },
    },
  },
  Release: {
    type: 'object',
    properties: {
      tag: str,
      sha: { type: ['string', 'null'] },
      version: { type: ['string', 'null'] },
      status: str,
      error: { type: ['string', 'null'] },
    },
  },
  Event: {
    type: 'object',
    properties: {
      id: { type: 'integer' },
      time: str,
      reason: str,
      message: str,
      color: { type: ['string', 'null'] },
      actor: str,
      data: { type: ['object', 'null'] },
    },
  },
  User: strict({ username: str, roles: { type: 'array', items: ROLE }, createdAt: str, updatedAt: str }),
  UserCreate: strict(
    {
      username: { type: 'string' },
      password: { type: 'string', minLength: 8 },
      roles: { type: 'array', items: ROLE, minItems: 1 },
    },
    ['username', 'password', 'roles'],
  ),
  ...notifySchemas,
  UserUpdate: strict({
    password: { type: 'string', minLength: 8 },
    roles: { type: 'array', items: ROLE, minItems: 1 },
  }),
};

export function openApiDocument(version: string): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'openhack-hypervisor',
      version,
      description: 'The operator API. Errors are {"error": {"code", "message"}}.',
    },
    servers: [{ url: '/hypervisor' }],
    paths,
    components: {
      schemas,
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        // The dashboard's: the same session; a request that changes something also sends X-CSRF-Token.
        cookie: { type: 'apiKey', in: 'cookie', name: 'hv_session' },
      },
    },
  };
}
