// An open websocket through the proxy. We relay the bytes ourselves (not http-proxy's pipes) and
// follow frame boundaries both ways, so that when the color it runs on is drained we can end it
// the way RFC 6455 wants: a close frame at a frame boundary, to the client (1012, service
// restart: reconnect and you reach the new color) and to the backend (1001, going away).
import type { Duplex } from 'node:stream';
import { CLOSE_GOING_AWAY, CLOSE_SERVICE_RESTART, closeFrame, FrameBoundaries } from './ws-frames.js';

/** Longest wait for a frame in progress to finish once a close is decided; then both sockets go. */
const CLOSE_DEADLINE_MS = 2_000;

export class WsSession {
  readonly #client: Duplex;
  readonly #upstream: Duplex;
  readonly #down: Relay;
  readonly #up: Relay;
  #closing = false;

  /** Takes over both sockets; whatever piped them before must already be unpiped. */
  constructor(client: Duplex, upstream: Duplex) {
    this.#client = client;
    this.#upstream = upstream;
    this.#down = new Relay(upstream, client);
    this.#up = new Relay(client, upstream);
  }

  /** Ends the websocket cleanly on both sides; `reason` is sent to both (keep it short, ASCII). */
  close(reason: string): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#down.closeWith(closeFrame(CLOSE_SERVICE_RESTART, reason, false));
    this.#up.closeWith(closeFrame(CLOSE_GOING_AWAY, reason, true));
    const timer = setTimeout(() => {
      this.#client.destroy();
      this.#upstream.destroy();
    }, CLOSE_DEADLINE_MS);
    timer.unref();
    this.#client.once('close', () => clearTimeout(timer));
  }
}

/** One direction: bytes from `from` to `to` with backpressure, frame boundaries followed on the way. */
class Relay {
  readonly #from: Duplex;
  readonly #to: Duplex;
  readonly #frames = new FrameBoundaries();
  /** The close frame to send at the next boundary, once a close is decided. */
  #closeFrame: Buffer | null = null;
  /** After the close frame: the rest of this direction is dropped. */
  #finished = false;

  constructor(from: Duplex, to: Duplex) {
    this.#from = from;
    this.#to = to;
    from.on('data', (chunk: Buffer) => this.#onData(chunk));
    from.once('end', () => {
      if (!this.#finished && !to.destroyed) to.end();
    });
    to.on('drain', () => from.resume());
    // Unpiping paused `from`; adding a 'data' listener does not resume a stream paused that way.
    from.resume();
  }

  closeWith(frame: Buffer): void {
    if (this.#finished || this.#closeFrame) return;
    this.#closeFrame = frame;
    if (this.#frames.atBoundary) this.#finish();
    // A direction paused by backpressure must still reach its boundary.
    this.#from.resume();
  }

  #onData(chunk: Buffer): void {
    if (this.#finished) return;
    if (this.#closeFrame === null) {
      this.#frames.consume(chunk);
      if (!this.#to.write(chunk)) this.#from.pause();
      return;
    }
    const rest = this.#frames.consume(chunk, true);
    if (rest > 0) this.#to.write(chunk.subarray(0, rest));
    if (this.#frames.atBoundary) this.#finish();
  }

  #finish(): void {
    this.#finished = true;
    if (!this.#to.destroyed && !this.#to.writableEnded) this.#to.end(this.#closeFrame);
  }
}
