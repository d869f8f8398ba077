// Forwards one plain HTTP request to a target through its undici pool and streams the answer
// into `res`, with backpressure both ways. The lease is released when `res` is over, whatever ends it.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { errors as undiciErrors, type Dispatcher } from 'undici';
import {
  BadGatewayError,
  ClientGoneError,
  GatewayTimeoutError,
  ProxyHttpError,
  sendError,
} from './errors.js';
import { downstreamResponseHeaders, requestIdOf, upstreamRequestHeaders } from './headers.js';
import type { Lease } from './router.js';
import type { Target } from './target.js';

export function forward(req: IncomingMessage, res: ServerResponse, lease: Lease): void {
  res.once('close', lease.release);
  const requestId = requestIdOf(req);
  const path = req.url ?? '/';
  if (!path.startsWith('/')) {
    sendError(res, new ProxyHttpError(400, 'bad_request', 'the request target must be a path starting with /'), requestId);
    return;
  }
  const options: Dispatcher.DispatchOptions = {
    path,
    method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
    headers: upstreamRequestHeaders(req, requestId),
    body: hasBody(req) ? req : null,
  };
  lease.target.pool.dispatch(options, new ForwardHandler(res, lease.target, requestId));
}

/** A request carries a body only when it says so (RFC 9112 6.3); GETs must not grow a chunked one. */
function hasBody(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = req.headers['content-length'];
  return length !== undefined && length !== '0';
}

/** Undici's dispatch handler writing straight into the client's response. */
class ForwardHandler implements Dispatcher.DispatchHandler {
  readonly #res: ServerResponse;
  readonly #target: Target;
  readonly #requestId: string;
  #controller: Dispatcher.DispatchController | null = null;
  #clientGone = false;
  #done = false;

  constructor(res: ServerResponse, target: Target, requestId: string) {
    this.#res = res;
    this.#target = target;
    this.#requestId = requestId;
    res.once('close', () => this.#onClientClose());
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    // The client may have left while the request waited in the pool's queue.
    if (this.#clientGone) controller.abort(new ClientGoneError());
  }

  onResponseStart(controller: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    // 1xx answers are the backend's business with this hop; the client gets the final one.
    if (status < 200 || this.#clientGone) return;
    try {
      this.#res.writeHead(status, statusMessage || undefined, downstreamResponseHeaders(headers, this.#requestId));
    } catch (err) {
      // Node refuses a status line or field it considers invalid; the client gets a clean 502.
      controller.abort(new BadGatewayError(`the ${this.#target.color} backend sent a response head that cannot be passed on`, err));
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#clientGone) return;
    if (!this.#res.write(chunk)) {
      controller.pause();
      this.#res.once('drain', () => controller.resume());
    }
  }

  onResponseEnd(): void {
    this.#done = true;
    this.#res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, error: Error): void {
    this.#done = true;
    if (this.#clientGone || error instanceof ClientGoneError) return;
    sendError(this.#res, upstreamFailure(error, this.#target), this.#requestId);
  }

  #onClientClose(): void {
    if (this.#done || this.#res.writableFinished) return;
    this.#clientGone = true;
    this.#controller?.abort(new ClientGoneError());
  }
}

/** What the client is told when the backend failed before (or while) answering. */
export function upstreamFailure(error: Error, target: Target): ProxyHttpError {
  if (error instanceof ProxyHttpError) return error;
  const where = `the ${target.color} backend on port ${target.port}`;
  if (error instanceof undiciErrors.HeadersTimeoutError) {
    return new GatewayTimeoutError(`${where} did not answer in time`, error);
  }
  if (error instanceof undiciErrors.ConnectTimeoutError) {
    return new GatewayTimeoutError(`${where} did not accept the connection in time`, error);
  }
  if (error instanceof undiciErrors.InvalidArgumentError || error instanceof undiciErrors.NotSupportedError) {
    return new ProxyHttpError(400, 'bad_request', `the request cannot be forwarded: ${error.message}`, { cause: error });
  }
  return new BadGatewayError(`${where} failed to answer: ${describe(error)}`, error);
}

function describe(error: Error): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? `${code} (${error.message})` : error.message;
}
