// The OpenAPI paths of the running config (config get|set) and of the GitHub deliveries taken
// (hyper-cli webhooks); openapi.ts holds the rest.
import { answer, body, ERROR, FOLLOW, op, pathParam, query, SSE, type Operation } from './openapi-parts.js';

const str = { type: 'string' };
const DELIVERY = {
  type: 'object',
  properties: {
    deliveryId: str,
    event: { ...str, description: 'X-GitHub-Event: push, create, ping, ...' },
    ref: { type: ['string', 'null'], description: "the payload's ref, e.g. refs/tags/v26.11.27.1" },
    outcome: { ...str, description: 'release <tag>: <status> | pong | config repo pulled | ignored: <why>' },
    receivedAt: str,
  },
};

export const configPaths: Record<string, Record<string, Operation>> = {
  '/config': {
    get: op(
      'the running config (the file with its runtime changes); secret values redacted, secret files named',
      'viewer',
      answer({
        type: 'object',
        properties: {
          config: { type: 'object' },
          overridesFile: {
            type: ['string', 'null'],
            description: 'where runtime changes are kept, laid over the file at start (null: no config file)',
          },
          overrides: {
            type: 'array',
            items: { type: 'object', properties: { key: str, by: str, at: str } },
          },
        },
      }),
      { responses: { 503: { ...ERROR, description: 'the daemon was started without a config file' } } },
    ),
  },
  '/config/{key}': {
    put: op(
      'change one key of policy, gates or notify at runtime, checked like the file, saved and audited',
      'admin',
      answer({
        type: 'object',
        properties: {
          key: str,
          changed: { const: true },
          appliesAt: { enum: ['now', 'next start'], description: 'gates: at the next start in this version' },
          config: { type: 'object' },
        },
      }),
      {
        parameters: [pathParam('key', { ...str, description: 'dotted, e.g. policy.autoPromote or notify.0.on' })],
        ...body({
          type: 'object',
          additionalProperties: false,
          properties: { value: { description: 'the value as the file would hold it (JSON)' } },
          required: ['value'],
        }),
        responses: {
          400: { ...ERROR, description: 'a bad value (named with its key), or a key that is file-only' },
          503: { ...ERROR, description: 'the daemon was started without a config file' },
        },
      },
    ),
  },
  '/webhooks/github': {
    get: op(
      'the GitHub deliveries taken (signed and stored), oldest first, with what each led to; follow=1 streams new ones',
      'viewer',
      {
        200: {
          description: 'deliveries',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                properties: { deliveries: { type: 'array', items: DELIVERY }, since: str },
              },
            },
            'application/x-ndjson': { schema: DELIVERY },
          },
        },
      },
      {
        parameters: [
          query('since', 'how far back, a duration like 30m or 24h (default 24h)', str),
          query('limit', '1 to 1000 (default 100)'),
          FOLLOW,
          SSE,
        ],
      },
    ),
  },
};
