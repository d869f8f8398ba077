// Forwards one plain HTTP request to a target through its undici pool and streams the answer into
// `res`, with backpressure both ways. When the target refuses or resets the connection before the
// first byte of its answer, or sends no answer within the response timeout (a stalled process), a
// replayable request is sent once more, to the other color if it is Ready (failover). The current
// lease is released when `res` is over, whatever ends it.
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeader, ServerResponse } from 'node:http';
import { errors as undiciErrors, type Dispatcher } from 'undici';
import { limitedBody, planBody, readWhole, type BodyPlan } from './body.js';
import {
  BackendsDownError,
  BadGatewayError,
  ClientGoneError,
  GatewayTimeoutError,
  ProxyHttpError,
  sendError,
} from './errors.js';
import { downstreamResponseHeaders, requestIdOf, upstreamRequestHeaders } from './headers.js';
import type { UpstreamFailureReason } from '../common/traffic.js';
import { CLIENT_CLOSED, type TrafficMeter } from './meter.js';
import type { Lease } from './router.js';
import type { Target } from './target.js';
import type { TrustedProxies } from './trusted.js';

export interface ForwardContext {
  trusted: TrustedProxies;
  /** Largest request body passed on (413 above). */
  maxBodyBytes: number;
  /** A lease on the other color, Ready, for a request `failed` refused or left unanswered; null when there is none. */
  failover(failed: Target): Lease | null;
  /** Where answers and upstream failures are counted per color; null: not measured. */
  meter: TrafficMeter | null;
}

/** Errors that mean the backend never saw the request through: nothing listens, or the connection died. */
const REFUSED_OR_RESET = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'UND_ERR_SOCKET']);

/** `setCookie`: the canary cookie a client without one is given with the answer (proxy/sticky.ts). */
export function forward(
  req: IncomingMessage,
  res: ServerResponse,
  lease: Lease,
  ctx: ForwardContext,
  setCookie: string | null = null,
): void {
  // Read only when measuring: the clock is the one cost a request pays for metrics besides additions.
  const started = ctx.meter === null ? 0 : ctx.meter.now();
  const requestId = requestIdOf(req);
  const path = req.url ?? '/';
  let plan: BodyPlan;
  try {
    if (!path.startsWith('/'))
      throw new ProxyHttpError(400, 'bad_request', 'the request target must be a path starting with /');
    plan = planBody(req, ctx.maxBodyBytes);
  } catch (err) {
    lease.release();
    sendError(res, err as ProxyHttpError, requestId);
    ctx.meter?.answered(lease.target.color, req.method, (err as ProxyHttpError).status, started);
    return;
  }
  const options: Dispatcher.DispatchOptions = {
    path,
    method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
    headers: upstreamRequestHeaders(req, requestId, ctx.trusted),
    body: null,
  };
  const exchange = new Exchange(res, lease, ctx, requestId, options, plan.replayable, { setCookie, started });
  switch (plan.kind) {
    case 'none':
      return exchange.start();
    case 'stream':
      options.body = plan.length === null ? limitedBody(req, ctx.maxBodyBytes) : req;
      return exchange.start();
    case 'buffer':
      readWhole(req).then(
        (body) => {
          options.body = body;
          exchange.start();
        },
        () => undefined,
      ); // the client left while sending; `res` closes and releases the lease
      return;
    default: {
      const never: never = plan;
      throw new Error(`unknown body plan ${JSON.stringify(never)}`);
    }
  }
}

/** One request's way through one or two backends: undici's dispatch handler writing into `res`. */
class Exchange implements Dispatcher.DispatchHandler {
  readonly #res: ServerResponse;
  readonly #ctx: ForwardContext;
  readonly #requestId: string;
  readonly #options: Dispatcher.DispatchOptions;
  readonly #replayable: boolean;
  readonly #setCookie: string | null;
  readonly #started: number;
  #lease: Lease;
  #attempts = 0;
  #controller: Dispatcher.DispatchController | null = null;
  #clientGone = false;
  #responding = false;
  #done = false;

  constructor(
    res: ServerResponse,
    lease: Lease,
    ctx: ForwardContext,
    requestId: string,
    options: Dispatcher.DispatchOptions,
    replayable: boolean,
    { setCookie, started }: { setCookie: string | null; started: number },
  ) {
    this.#res = res;
    this.#setCookie = setCookie;
    this.#started = started;
    this.#lease = lease;
    this.#ctx = ctx;
    this.#requestId = requestId;
    this.#options = options;
    this.#replayable = replayable;
    res.once('close', () => this.#onClientClose());
  }

  start(): void {
    if (this.#clientGone) return;
    this.#attempts += 1;
    this.#controller = null;
    this.#lease.target.pool.dispatch(this.#options, this);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    // The client may have left while the request waited in the pool's queue.
    if (this.#clientGone) controller.abort(new ClientGoneError());
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    status: number,
    headers: IncomingHttpHeaders,
    statusMessage?: string,
  ): void {
    // 1xx answers are the backend's business with this hop; the client gets the final one.
    if (status < 200 || this.#clientGone) return;
    this.#responding = true;
    try {
      const out = downstreamResponseHeaders(headers, this.#requestId);
      if (this.#setCookie !== null) out['set-cookie'] = [...cookiesOf(out['set-cookie']), this.#setCookie];
      this.#res.writeHead(status, statusMessage || undefined, out);
    } catch (err) {
      // Node refuses a status line or field it considers invalid; the client gets a clean 502.
      controller.abort(
        new BadGatewayError(
          `the ${this.#lease.target.color} backend sent a response head that cannot be passed on`,
          err,
        ),
      );
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
    if (this.#clientGone || error instanceof ClientGoneError) {
      this.#done = true;
      return;
    }
    const next = this.#retryable(error) ? this.#ctx.failover(this.#lease.target) : null;
    this.#ctx.meter?.failed(this.#lease.target.color, failureReason(error), next !== null);
    if (next) {
      this.#lease.release();
      this.#lease = next;
      // Not from inside undici's error path: the failed client is still tearing its socket down.
      process.nextTick(() => this.start());
      return;
    }
    this.#done = true;
    sendError(this.#res, this.#failure(error), this.#requestId);
  }

  #retryable(error: Error): boolean {
    if (!this.#replayable || this.#attempts !== 1 || this.#responding) return false;
    // A timed-out request may have been seen by the backend: replayable means sending it twice is harmless.
    return isRefusedOrReset(error) || error instanceof undiciErrors.HeadersTimeoutError;
  }

  #failure(error: Error): ProxyHttpError {
    if (this.#attempts > 1 && !this.#responding && isRefusedOrReset(error)) {
      return new BackendsDownError(
        'neither color accepted the request (both refused or reset the connection); retry shortly',
        error,
      );
    }
    return upstreamFailure(error, this.#lease.target);
  }

  #onClientClose(): void {
    this.#lease.release();
    const res = this.#res;
    this.#ctx.meter?.answered(
      this.#lease.target.color,
      this.#options.method,
      res.headersSent ? res.statusCode : CLIENT_CLOSED,
      this.#started,
    );
    if (this.#done || this.#res.writableFinished) return;
    this.#clientGone = true;
    this.#controller?.abort(new ClientGoneError());
  }
}

function cookiesOf(value: OutgoingHttpHeader | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [String(value)];
}

/** The failure label of an upstream error (hypervisor_upstream_failures_total{reason}). */
function failureReason(error: Error): UpstreamFailureReason {
  const code = (error as { code?: unknown }).code;
  if (code === 'ECONNREFUSED') return 'refused';
  if (typeof code === 'string' && REFUSED_OR_RESET.has(code)) return 'reset';
  if (
    error instanceof undiciErrors.HeadersTimeoutError ||
    error instanceof undiciErrors.ConnectTimeoutError ||
    error instanceof undiciErrors.BodyTimeoutError
  )
    return 'timeout';
  return 'bad_response';
}

function isRefusedOrReset(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && REFUSED_OR_RESET.has(code);
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
    return new ProxyHttpError(400, 'bad_request', `the request cannot be forwarded: ${error.message}`, {
      cause: error,
    });
  }
  return new BadGatewayError(`${where} failed to answer: ${describe(error)}`, error);
}

function describe(error: Error): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? `${code} (${error.message})` : error.message;
}
