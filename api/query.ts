// Query parameters, checked like bodies: a bad value is a 400 naming it, never silently a default.
import type { Request } from 'express';
import { HttpError } from './http-error.js';
import { describeValue } from '../common/describe.js';

function single(req: Request, name: string): string | undefined {
  const value = req.query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string')
    throw new HttpError(400, 'invalid_query', `query parameter ${name} must be given once, as a plain value`);
  return value;
}

export function queryInteger(req: Request, name: string, fallback: number, min: number, max: number): number {
  const value = single(req, name);
  if (value === undefined) return fallback;
  const n = /^\d{1,15}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new HttpError(
      400,
      'invalid_query',
      `query parameter ${name} must be an integer from ${min} to ${max}, got ${describeValue(value)}`,
    );
  }
  return n;
}

/** `?follow=1`, `?follow=true`, `?follow` are on; `0`, `false` or absent are off. */
export function queryFlag(req: Request, name: string): boolean {
  const value = single(req, name);
  if (value === undefined || value === '0' || value === 'false') return false;
  if (value === '' || value === '1' || value === 'true') return true;
  throw new HttpError(400, 'invalid_query', `query parameter ${name} must be 1 or 0, got ${describeValue(value)}`);
}

/** A query parameter that may only take one value, e.g. `?confirm=outage`: true when given, false when absent. */
export function queryWord(req: Request, name: string, word: string): boolean {
  const value = single(req, name);
  if (value === undefined) return false;
  if (value === word) return true;
  throw new HttpError(400, 'invalid_query', `query parameter ${name} must be ${word}, got ${describeValue(value)}`);
}
