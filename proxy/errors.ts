// The proxy's typed errors and the one JSON shape every proxy-made answer has.
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { HypervisorError } from '../common/errors.js';

/** An answer the proxy makes itself (no backend involved): status, stable code, operator message. */
export class ProxyHttpError extends HypervisorError {
  readonly status: number;
  readonly headers: OutgoingHttpHeaders;
  constructor(
    status: number,
    code: string,
    message: string,
    options?: { cause?: unknown; headers?: OutgoingHttpHeaders },
  ) {
    super(code, message, options);
    this.status = status;
    this.headers = options?.headers ?? {};
  }
}

/** No color is routed for this listener: the client should come back shortly. */
export class NoTargetError extends ProxyHttpError {
  constructor(slot: 'active' | 'preview') {
    const which = slot === 'active' ? 'public traffic' : 'the preview listener';
    super(503, 'no_ready_color', `there is no Ready color for ${which} yet; retry shortly`, {
      headers: { 'retry-after': '5' },
    });
  }
}

/** The backend refused, reset or closed the connection before it answered. */
export class BadGatewayError extends ProxyHttpError {
  constructor(message: string, cause?: unknown) {
    super(502, 'bad_gateway', message, { cause });
  }
}

/** Neither color took the request: both refused or reset the connection before answering. */
export class BackendsDownError extends ProxyHttpError {
  constructor(message: string, cause?: unknown) {
    super(503, 'backends_down', message, { cause, headers: { 'retry-after': '5' } });
  }
}

/** The request body is over the configured limit (`proxy.maxBodySize`). */
export class PayloadTooLargeError extends ProxyHttpError {
  constructor(limit: number) {
    // The rest of the body is not read: the connection closes after this answer.
    super(413, 'payload_too_large', `the request body is larger than the limit of ${limit} bytes`, {
      headers: { connection: 'close' },
    });
  }
}

/** The backend did not connect or answer within the deadline. */
export class GatewayTimeoutError extends ProxyHttpError {
  constructor(message: string, cause?: unknown) {
    super(504, 'gateway_timeout', message, { cause });
  }
}

/** The reason given to undici when the client went away: the upstream request is aborted with it. */
export class ClientGoneError extends HypervisorError {
  constructor() {
    super('client_gone', 'the client closed the connection before the response was complete');
  }
}

export function errorBody(err: ProxyHttpError): string {
  return JSON.stringify({ error: { code: err.code, message: err.message } });
}

/** Answers with the error unless headers already went out (then the only honest signal is a cut). */
export function sendError(res: ServerResponse, err: ProxyHttpError, requestId?: string): void {
  if (res.destroyed || res.writableEnded) return;
  if (res.headersSent) {
    res.destroy(err);
    return;
  }
  const body = errorBody(err);
  res.writeHead(err.status, {
    ...err.headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...(requestId ? { 'x-request-id': requestId } : {}),
  });
  res.end(body);
}

/** A listener could not be opened (port taken, address not local, no permission). */
export class ListenError extends HypervisorError {
  /** The system's reason (`EADDRINUSE`, `EACCES`, ...): what the operator can act on. */
  readonly errno: string | undefined;
  constructor(host: string, port: number, cause: Error) {
    super('listen_failed', `cannot listen on ${host}:${port}: ${cause.message}`, { cause });
    this.errno = (cause as NodeJS.ErrnoException).code;
  }
}
