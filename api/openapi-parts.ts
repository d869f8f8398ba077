// The pieces the OpenAPI document's operations are built from: references, JSON bodies, the error
// answers every operation has (and the 401 and 403 of a guarded one), query and path parameters.
import type { Role } from '../common/types.js';

export type Schema = Record<string, unknown>;
export type Operation = Record<string, unknown>;

export const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
export const json = (schema: Schema): Schema => ({ content: { 'application/json': { schema } } });
export const ERROR = { description: 'an error', ...json(ref('Error')) };

export function op(summary: string, role: Role | null, ok: Record<string, unknown>, extra: Operation = {}): Operation {
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

export const body = (schema: Schema, required = true): Operation => ({ requestBody: { required, ...json(schema) } });
export const query = (name: string, description: string, schema: Schema = { type: 'integer', minimum: 0 }): Schema => ({
  name,
  in: 'query',
  required: false,
  description,
  schema,
});
export const pathParam = (name: string, schema: Schema = { type: 'string' }): Schema => ({
  name,
  in: 'path',
  required: true,
  schema,
});
export const FOLLOW = query('follow', '1: stream (until the step or the session ends)', {
  type: 'string',
  enum: ['0', '1', 'true', 'false'],
});
export const SSE = query(
  'sse',
  '1 (or Accept: text/event-stream): stream server-sent events; a reconnect resumes after Last-Event-ID',
  { type: 'string', enum: ['0', '1', 'true', 'false'] },
);
export const answer = (schema: Schema, description = 'ok'): Record<string, unknown> => ({
  200: { description, ...json(schema) },
});
export const change = {
  200: { description: 'unchanged', ...json(ref('Change')) },
  201: { description: 'a new revision', ...json(ref('Change')) },
};
export const conflict = { 409: { ...ERROR, description: 'the color is not Ready' } };
export const DEPLOYMENTS = {
  type: 'object',
  properties: {
    deployments: { type: 'array', items: ref('Deployment') },
    stats: {
      type: 'object',
      description:
        'over the entries listed: failed = rolled back or a failed gate; restore = how long a failed one served',
      properties: {
        deployments: { type: 'integer' },
        failed: { type: 'integer' },
        changeFailureRate: { type: ['number', 'null'] },
        medianTimeToRestoreMs: { type: ['number', 'null'] },
      },
    },
  },
};
