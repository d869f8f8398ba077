// One HTTP error type and one central handler: routes throw, the handler answers
// `{ error: { code, message } }` with the right status. Domain errors are mapped by class.
import type { NextFunction, Request, Response } from 'express';
import {
  ConflictError,
  DuplicateKeyError,
  HypervisorError,
  NotFoundError,
  StaleRevisionError,
  StoreDamagedError,
  ValidationError,
  WouldStopTrafficError,
} from '../common/errors.js';
import { TooDeepError } from '../common/limits.js';
import { WriteFailedError } from '../common/write-failure.js';
import { TransitionRefusedError, UnknownTagError } from '../desired-state/refusals.js';
import { RepoUnreachableError } from '../reconciler/tag-lookup.js';
import { HasherBusyError } from './auth/password.js';

export class HttpError extends HypervisorError {
  readonly status: number;
  readonly headers: Record<string, string>;
  /** Facts for scripts beside the message (`error.details`), e.g. the tags a refusal names. */
  readonly details: Record<string, unknown> | null;
  constructor(
    status: number,
    code: string,
    message: string,
    headers: Record<string, string> = {},
    details: Record<string, unknown> | null = null,
  ) {
    super(code, message);
    this.status = status;
    this.headers = headers;
    this.details = details;
  }
}

const INTERNAL_MESSAGE = "internal error; see the hypervisor's log";

/** The answer the code chose for `err`, or null when nobody expected it (a bug, a broken store). */
function chosenAnswer(err: unknown): HttpError | null {
  if (err instanceof HttpError) return err;
  if (err instanceof TooDeepError) return new HttpError(400, err.code, err.message);
  if (err instanceof ValidationError) return new HttpError(400, err.code, err.message);
  if (err instanceof WouldStopTrafficError) return new HttpError(409, err.code, err.message);
  if (err instanceof StaleRevisionError) return new HttpError(412, 'stale_revision', err.message);
  if (err instanceof ConflictError || err instanceof DuplicateKeyError)
    return new HttpError(409, err.code, err.message);
  if (err instanceof NotFoundError) return new HttpError(404, err.code, err.message);
  // Nothing of the call was written; the message names the file and the fix, never a query.
  if (err instanceof StoreDamagedError) return new HttpError(503, err.code, err.message);
  // The host refused a write: 507 for a full disk, 503 for a failing or read-only one or a folder
  // that is not the daemon's. The message names the path, the cause and the fix.
  if (err instanceof WriteFailedError) return new HttpError(err.noSpace ? 507 : 503, err.code, err.message);
  // A transition said no: an unknown tag is a missing thing, every other refusal a conflict with the state.
  if (err instanceof UnknownTagError) return new HttpError(404, err.code, err.message, {}, err.details);
  if (err instanceof TransitionRefusedError) return new HttpError(409, err.code, err.message, {}, err.details);
  if (err instanceof RepoUnreachableError) return new HttpError(503, err.code, err.message, { 'Retry-After': '10' });
  if (err instanceof HasherBusyError) return new HttpError(503, err.code, err.message, { 'Retry-After': '1' });
  const bodyError = err as { type?: string; status?: number; message?: string };
  if (bodyError.type === 'entity.too.large') return new HttpError(413, 'too_large', 'request body is too large');
  if (bodyError.type === 'entity.parse.failed')
    return new HttpError(400, 'invalid_json', `request body is not valid JSON: ${bodyError.message}`);
  if (typeof bodyError.status === 'number' && bodyError.status >= 400 && bodyError.status < 500) {
    return new HttpError(bodyError.status, 'bad_request', bodyError.message ?? 'bad request');
  }
  return null;
}

export function errorHandler(err: unknown, _req: Request, res: Response, next: NextFunction): void {
  if (res.headersSent) {
    next(err);
    return;
  }
  // A chosen answer (a 400, the 503 of a busy login) is the code working as meant: the client is
  // told, and the log stays quiet. Only the unexpected deserve a stack trace in the daemon's log;
  // their message may name paths, queries or secrets, so it goes to the log only.
  const chosen = chosenAnswer(err);
  if (chosen === null) console.error('hypervisor api error:', err);
  const http = chosen ?? new HttpError(500, 'internal', INTERNAL_MESSAGE);
  res
    .status(http.status)
    .set(http.headers)
    .json({ error: { code: http.code, message: http.message, ...(http.details ? { details: http.details } : {}) } });
}

export function notFound(req: Request): never {
  throw new HttpError(404, 'not_found', `no route ${req.method} ${req.path}`);
}
