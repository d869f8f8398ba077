// The OpenAPI document's component schemas: what the routes take and answer, by name.
import { SAFE_TAG } from '../common/git-names.js';
import { notifySchemas } from './openapi-notify.js';
import { trafficSchemas } from './openapi-traffic.js';
import { ref, type Schema } from './openapi-parts.js';

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

export const schemas: Record<string, Schema> = {
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
  SwitchRequest: strict({
    to: COLOR,
    now: {
      type: 'boolean',
      description: 'true: skip the canary steps (gates.canary), or what is left of them; all traffic moves at once',
    },
  }),
  StatusAnswer: {
    type: 'object',
    properties: {
      status: {
        type: 'object',
        properties: { active: { type: ['string', 'null'] }, weights: ref('Weights'), canary: ref('Canary') },
      },
    },
  },
  Weights: {
    type: ['object', 'null'],
    description: 'per cent of the public clients each color gets now; null when none serves',
    properties: { blue: { type: 'number' }, green: { type: 'number' } },
  },
  Canary: {
    type: ['object', 'null'],
    description: 'the canary rollout under way (gates.canary), or null',
    properties: {
      phase: { enum: ['restored', 'stepping', 'promoting'] },
      from: { ...COLOR, type: ['string', 'null'] },
      to: COLOR,
      tag: { type: 'string' },
      weight: { type: 'number', description: 'per cent of the clients `to` has now' },
      step: { type: 'integer', description: '1-based; the full switch is steps.length + 1' },
      steps: { type: 'array', items: { type: 'number' } },
      stepStartedAt: { type: ['string', 'null'] },
    },
  },
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
  ...trafficSchemas,
  UserUpdate: strict({
    password: { type: 'string', minLength: 8 },
    roles: { type: 'array', items: ROLE, minItems: 1 },
  }),
};
