// Strict request bodies: only known fields, each of the expected type. Operator-like values such
// as `{"$ne": null}` are objects where strings are expected, so they are refused here too.
import type { IncomingMessage } from 'node:http';
import { TextDecoder } from 'node:util';
import type { Request } from 'express';
import { describeValue } from '../common/describe.js';
import { checkJsonNesting } from '../common/nesting.js';
import { HttpError } from './http-error.js';

type FieldKind = 'string' | 'boolean' | 'string[]';

type Typed<K extends FieldKind> = K extends 'string' ? string : K extends 'boolean' ? boolean : string[];

/**
 * A JSON body (or none) with only `fields`. A null field counts as absent; required fields are the
 * route's to check. A body of another type is refused: parsed by nothing, it would read as empty.
 */
export function readBody<F extends Record<string, FieldKind>>(
  req: Request,
  fields: F,
): { [K in keyof F]?: Typed<F[K]> } {
  if (unparsedBody(req)) {
    throw new HttpError(
      415,
      'unsupported_media_type',
      `request body must be application/json, got ${JSON.stringify(req.get('content-type') ?? 'no Content-Type')}`,
    );
  }
  const body: unknown = req.body;
  const value = body === undefined || body === null ? {} : body;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new HttpError(400, 'invalid_body', 'request body must be a JSON object');
  }
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    const kind = Object.hasOwn(fields, key) ? fields[key] : undefined;
    if (kind === undefined) {
      throw new HttpError(
        400,
        'invalid_body',
        `unknown field ${describeValue(key)}; allowed: ${Object.keys(fields).join(', ') || 'none'}`,
      );
    }
    if (field === null) continue;
    if (!hasKind(field, kind)) {
      throw new HttpError(
        400,
        'invalid_body',
        `field "${key}" must be a ${kind === 'string[]' ? 'list of strings' : kind}, got ${describeValue(field)}`,
      );
    }
    out[key] = field;
  }
  return out as { [K in keyof F]?: Typed<F[K]> };
}

/**
 * express.json's `verify` hook: it sees the raw bytes before JSON.parse, so a body nesting deeper
 * than MAX_NESTING is refused (400 too_deep) before anything recursive walks it.
 */
export function refuseDeepJson(_req: IncomingMessage, _res: unknown, body: Buffer, encoding: string): void {
  checkJsonNesting(decode(body, encoding), 'request body');
}

function decode(body: Buffer, encoding: string): string {
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(encoding || 'utf-8');
  } catch {
    throw new HttpError(
      415,
      'unsupported_media_type',
      `charset ${describeValue(encoding)} is not supported; send UTF-8`,
    );
  }
  return decoder.decode(body);
}

/** The body of a route that takes none: `{}` or nothing. */
export function readEmptyBody(req: Request): void {
  readBody(req, {});
}

export function required<T>(value: T | undefined, field: string): T {
  if (value === undefined) throw new HttpError(400, 'invalid_body', `field "${field}" is required`);
  return value;
}

function hasKind(value: unknown, kind: FieldKind): boolean {
  switch (kind) {
    case 'string':
      return typeof value === 'string';
    case 'boolean':
      return typeof value === 'boolean';
    case 'string[]':
      return Array.isArray(value) && value.every((item) => typeof item === 'string');
  }
}

/** A body declared as something else than JSON, or bytes sent without saying what they are. */
function unparsedBody(req: Request): boolean {
  if (req.get('content-type') !== undefined) return req.is('application/json') === false;
  return Number(req.get('content-length') ?? 0) > 0;
}
