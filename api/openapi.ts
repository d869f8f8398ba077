// The OpenAPI 3.1 description of /hypervisor/*, served at GET /hypervisor/openapi.json. A test walks
// the express routes and checks each one is described here with the role its guard demands
// (`x-required-role`; absent means no token), and that nothing is described that is not routed.
import { answer, body, change, conflict, ERROR, FOLLOW, op, query, ref, SSE, type Operation } from './openapi-parts.js';
import { configPaths } from './openapi-config-paths.js';
import { recordPaths } from './openapi-record-paths.js';
import { schemas } from './openapi-schemas.js';
import { trafficOperations } from './openapi-traffic.js';

const ownPaths: Record<string, Record<string, Operation>> = {
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
    get: op('desired, observed and status together (follow: each change)', 'viewer', answer(ref('StatusAnswer')), {
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
  '/metrics': {
    get: op(trafficOperations.metrics.summary, 'viewer', trafficOperations.metrics.ok, {
      responses: trafficOperations.metrics.errors,
    }),
  },
  '/traffic': {
    get: op(trafficOperations.traffic.summary, 'viewer', trafficOperations.traffic.ok, {
      responses: trafficOperations.traffic.errors,
    }),
  },
};

type Paths = Record<string, Record<string, Operation>>;

/**
 * The paths of the parts, merged per path: a spread would let a later part's `get` of a path replace
 * an earlier part's `post` of the same path (it once hid POST /webhooks/github). Two parts describing
 * the same method of one path is a mistake in this file, refused when the module loads.
 */
function mergePaths(...parts: Paths[]): Paths {
  const merged: Paths = {};
  for (const part of parts) {
    for (const [route, operations] of Object.entries(part)) {
      const existing = (merged[route] ??= {});
      for (const [method, operation] of Object.entries(operations)) {
        if (method in existing) throw new Error(`OpenAPI: ${method.toUpperCase()} ${route} is described twice`);
        existing[method] = operation;
      }
    }
  }
  return merged;
}

const paths = mergePaths(ownPaths, recordPaths, configPaths);

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
