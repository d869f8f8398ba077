// The OpenAPI paths of the records an operator reads and keeps: releases and their logs, a
// notification target's test, events, deployments and hyperusers (openapi.ts holds the rest).
import {
  answer,
  body,
  DEPLOYMENTS,
  ERROR,
  FOLLOW,
  json,
  op,
  pathParam,
  query,
  ref,
  SSE,
  type Operation,
} from './openapi-parts.js';

export const recordPaths: Record<string, Record<string, Operation>> = {
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
  '/releases/{tag}/smoke': {
    post: op(
      'run the smoke gate again against the Ready color that runs the tag ' +
        "(202: queued; the release's smoke field gets the result)",
      'operator',
      {
        202: {
          description: 'queued',
          ...json({
            type: 'object',
            properties: {
              tag: { type: 'string' },
              color: { type: 'string', enum: ['blue', 'green'] },
              smoke: { type: ['object', 'null'] },
            },
          }),
        },
      },
      {
        parameters: [pathParam('tag')],
        responses: {
          404: ERROR,
          409: {
            ...ERROR,
            description: 'gate_off (no gates.smoke), not_running (no color runs the tag Ready), smoke_running',
          },
        },
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
      'a build, test or smoke log as text; once retention removed the local copy, the archived one (archive.s3)',
      'viewer',
      {
        200: {
          description:
            'the log; X-Hypervisor-Log-Source says local or archive, and an archived copy comes with ' +
            'X-Hypervisor-Log-Location (s3://bucket/key) and X-Hypervisor-Log-Sha256, checked as it streams ' +
            '(a copy that differs is cut off)',
          content: { 'text/plain': { schema: { type: 'string' } } },
        },
        503: { ...ERROR, description: 'the local copy is gone and the archive cannot be read now' },
      },
      {
        parameters: [
          pathParam('tag'),
          pathParam('kind', { type: 'string', enum: ['build', 'test', 'smoke'] }),
          FOLLOW,
          SSE,
        ],
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
