// Request bodies on their way to a backend: the size limit, and which bodies may be sent twice.
// A body can be replayed on the other color only if we still have it, so small bodies of
// idempotent requests are read whole first; anything else streams through and is sent once.
import type { IncomingMessage } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import { ClientGoneError, PayloadTooLargeError } from './errors.js';

/** Methods whose repetition has the effect of one request (RFC 9110 9.2.2): failover may resend them. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

/** Largest body kept in memory so that an idempotent request stays replayable. */
export const REPLAY_LIMIT_BYTES = 64 * 1024;

/** How a request's body is sent: `replayable` ones may go to the other color after a refusal or a timeout. */
export type BodyPlan =
  | { kind: 'none'; replayable: boolean }
  /** Read whole before sending (idempotent and at most REPLAY_LIMIT_BYTES). */
  | { kind: 'buffer'; replayable: true }
  /** Streamed as it arrives; `length` null means chunked, counted against the limit on the way. */
  | { kind: 'stream'; replayable: false; length: number | null };

/** Decides from the head alone; throws PayloadTooLargeError when the declared length is over `maxBytes`. */
export function planBody(req: IncomingMessage, maxBytes: number): BodyPlan {
  const idempotent = IDEMPOTENT.has(req.method ?? 'GET');
  // A request carries a body only when it says so (RFC 9112 6.3); GETs must not grow a chunked one.
  if (req.headers['transfer-encoding'] !== undefined) return { kind: 'stream', replayable: false, length: null };
  const length = Number(req.headers['content-length'] ?? 0);
  if (length > maxBytes) throw new PayloadTooLargeError(maxBytes);
  if (length === 0) return { kind: 'none', replayable: idempotent };
  if (idempotent && length <= REPLAY_LIMIT_BYTES) return { kind: 'buffer', replayable: true };
  return { kind: 'stream', replayable: false, length };
}

/** The whole body of a request whose length node's parser already holds to Content-Length. */
export function readWhole(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('close', () => {
      if (!req.complete) reject(new ClientGoneError());
    });
  });
}

/** A chunked body as a stream that fails once more than `maxBytes` went through. */
export function limitedBody(req: IncomingMessage, maxBytes: number): Transform {
  const limit = new BodyLimit(maxBytes);
  req.pipe(limit);
  return limit;
}

class BodyLimit extends Transform {
  readonly #max: number;
  #seen = 0;

  constructor(max: number) {
    super();
    this.#max = max;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#seen += chunk.length;
    if (this.#seen > this.#max) done(new PayloadTooLargeError(this.#max));
    else done(null, chunk);
  }
}
