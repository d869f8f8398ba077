// Just enough of RFC 6455 framing for the proxy to end a websocket cleanly: it tracks where frames
// end in a byte stream (so a close frame is never injected into the middle of another frame) and
// encodes close frames. Payloads are never inspected or unmasked.
import { randomBytes } from 'node:crypto';

const OP_CLOSE = 0x8;
/** A close frame's reason fits in a control frame's 125 bytes, after the 2-byte code. */
const MAX_REASON_BYTES = 123;

/** Service Restart (RFC 6455 7.4.1, IANA registry): the client may reconnect; it will reach the new color. */
export const CLOSE_SERVICE_RESTART = 1012;
/** Going Away: what we tell the backend when we end its side of the connection. */
export const CLOSE_GOING_AWAY = 1001;

/** Follows frame boundaries in one direction of a websocket connection, chunk by chunk. */
export class FrameBoundaries {
  /** Header bytes of the frame in progress, until its header is complete (at most 14). */
  readonly #header = Buffer.alloc(14);
  #headerBytes = 0;
  /** Payload bytes of the current frame still to come. */
  #payloadLeft = 0;

  /** True between frames: a control frame may be written to this direction now. */
  get atBoundary(): boolean {
    return this.#headerBytes === 0 && this.#payloadLeft === 0;
  }

  /**
   * Consumes `chunk` as bytes that went by and returns how many were consumed: all of them, or,
   * with `stopAtBoundary`, only those up to the end of the frame in progress.
   */
  consume(chunk: Buffer, stopAtBoundary = false): number {
    let offset = 0;
    while (offset < chunk.length) {
      if (stopAtBoundary && this.atBoundary) return offset;
      if (this.#payloadLeft > 0) {
        const take = Math.min(this.#payloadLeft, chunk.length - offset);
        this.#payloadLeft -= take;
        offset += take;
        continue;
      }
      this.#header[this.#headerBytes] = chunk[offset] as number;
      this.#headerBytes += 1;
      offset += 1;
      const needed = headerLength(this.#header, this.#headerBytes);
      if (needed !== null && this.#headerBytes === needed) {
        this.#payloadLeft = payloadLength(this.#header);
        this.#headerBytes = 0;
      }
    }
    return offset;
  }
}

/** The full header length once the first two bytes are known (null before). */
function headerLength(header: Buffer, have: number): number | null {
  if (have < 2) return null;
  const second = header[1] as number;
  const code = second & 0x7f;
  const lengthBytes = code === 126 ? 2 : code === 127 ? 8 : 0;
  return 2 + lengthBytes + ((second & 0x80) !== 0 ? 4 : 0);
}

function payloadLength(header: Buffer): number {
  const code = (header[1] as number) & 0x7f;
  if (code === 126) return header.readUInt16BE(2);
  if (code === 127) return Number(header.readBigUInt64BE(2));
  return code;
}

/** A close frame; `masked` for frames we send to the backend (we are its client there, RFC 6455 5.3). */
export function closeFrame(code: number, reason: string, masked: boolean): Buffer {
  let shortened = reason;
  // Cut by characters, not bytes: a reason that is not valid UTF-8 fails the connection (1007).
  while (Buffer.byteLength(shortened, 'utf8') > MAX_REASON_BYTES) shortened = shortened.slice(0, -1);
  const text = Buffer.from(shortened, 'utf8');
  const payload = Buffer.alloc(2 + text.length);
  payload.writeUInt16BE(code, 0);
  text.copy(payload, 2);
  const head = Buffer.from([0x80 | OP_CLOSE, (masked ? 0x80 : 0) | payload.length]);
  if (!masked) return Buffer.concat([head, payload]);
  const mask = randomBytes(4);
  for (let i = 0; i < payload.length; i += 1) payload[i] = (payload[i] as number) ^ (mask[i % 4] as number);
  return Buffer.concat([head, mask, payload]);
}
