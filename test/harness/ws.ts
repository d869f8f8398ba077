// A minimal RFC 6455 peer for tests (no `ws` package in node_modules): the opening handshake on
// both sides, unfragmented text frames, ping/pong and the closing handshake. Enough to prove that
// bytes flow both ways through the proxy; not a general websocket library.
import { createHash, randomBytes } from 'node:crypto';
import http, { type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const OP_TEXT = 0x1;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;

export function acceptKey(key: string): string {
  return createHash('sha1')
    .update(key + GUID)
    .digest('base64');
}

export interface Frame {
  opcode: number;
  payload: Buffer;
}

/** Client frames are masked, server frames are not (RFC 6455 5.1). */
export function encodeFrame(opcode: number, payload: Buffer, masked: boolean): Buffer {
  const length = payload.length;
  const lengthBytes = length < 126 ? 0 : length < 65_536 ? 2 : 8;
  const head = Buffer.alloc(2 + lengthBytes + (masked ? 4 : 0));
  head[0] = 0x80 | opcode;
  head[1] = (masked ? 0x80 : 0) | (lengthBytes === 0 ? length : lengthBytes === 2 ? 126 : 127);
  if (lengthBytes === 2) head.writeUInt16BE(length, 2);
  if (lengthBytes === 8) head.writeBigUInt64BE(BigInt(length), 2);
  if (!masked) return Buffer.concat([head, payload]);
  const mask = randomBytes(4);
  mask.copy(head, 2 + lengthBytes);
  return Buffer.concat([head, xor(payload, mask)]);
}

/** Accumulates bytes and yields every complete frame. */
export class FrameDecoder {
  #buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    const frames: Frame[] = [];
    for (let frame = this.#next(); frame; frame = this.#next()) frames.push(frame);
    return frames;
  }

  #next(): Frame | null {
    const b = this.#buffer;
    if (b.length < 2) return null;
    const masked = ((b[1] as number) & 0x80) !== 0;
    let length = (b[1] as number) & 0x7f;
    let offset = 2;
    if (length === 126) {
      if (b.length < 4) return null;
      length = b.readUInt16BE(2);
      offset = 4;
    } else if (length === 127) {
      if (b.length < 10) return null;
      length = Number(b.readBigUInt64BE(2));
      offset = 10;
    }
    const maskOffset = offset;
    if (masked) offset += 4;
    if (b.length < offset + length) return null;
    const raw = b.subarray(offset, offset + length);
    const payload = masked ? xor(raw, b.subarray(maskOffset, maskOffset + 4)) : Buffer.from(raw);
    this.#buffer = b.subarray(offset + length);
    return { opcode: (b[0] as number) & 0x0f, payload };
  }
}

function xor(data: Buffer, mask: Buffer): Buffer {
  const out = Buffer.alloc(data.length);
  for (let i = 0; i < data.length; i += 1) out[i] = (data[i] as number) ^ (mask[i % 4] as number);
  return out;
}

/** One end of an open websocket: send text, await the next text message, close. */
export class WsPeer {
  readonly #socket: Duplex;
  readonly #masked: boolean;
  readonly #decoder = new FrameDecoder();
  readonly #messages: string[] = [];
  #waiter: (() => void) | null = null;
  #closed = false;
  #closeFrame: { code: number | null; reason: string } | null = null;
  /** Called with every text message; the server side of the harness echoes through it. */
  onText: ((text: string) => void) | null = null;
  /** Called with the code of the peer's close frame (null when it had none). */
  onClose: ((code: number | null) => void) | null = null;

  constructor(socket: Duplex, role: 'client' | 'server', head?: Buffer) {
    this.#socket = socket;
    this.#masked = role === 'client';
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.once('close', () => {
      this.#closed = true;
      this.#wake();
    });
    if (head && head.length > 0) this.#onData(head);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The close frame the peer sent, if any: its status code and reason. */
  get closeFrame(): { code: number | null; reason: string } | null {
    return this.#closeFrame;
  }

  /** Resolves once the connection is closed; rejects after the deadline. */
  async waitClosed(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`websocket still open after ${timeoutMs}ms`);
      await this.#nextEvent(left);
    }
  }

  /** Resolves on the next frame or close (#waiter), or once `ms` pass: the timer is only the deadline. */
  #nextEvent(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#waiter = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  send(text: string): void {
    this.#socket.write(encodeFrame(OP_TEXT, Buffer.from(text, 'utf8'), this.#masked));
  }

  async next(timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.#messages.length === 0) {
      if (this.#closed) throw new Error('websocket closed before a message arrived');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no websocket message within ${timeoutMs}ms`);
      await this.#nextEvent(left);
    }
    return this.#messages.shift() as string;
  }

  /** Sends a close frame and waits (bounded) for the peer to close the connection. */
  async close(timeoutMs: number): Promise<void> {
    if (this.#closed) return;
    this.#socket.write(encodeFrame(OP_CLOSE, Buffer.from([0x03, 0xe8]), this.#masked));
    const done = new Promise<void>((resolve) => this.#socket.once('close', () => resolve()));
    // A deadline, not a wait: the peer's close is awaited as an event; a peer that never closes is cut off.
    const timer = setTimeout(() => this.#socket.destroy(), timeoutMs);
    await done;
    clearTimeout(timer);
  }

  #onData(chunk: Buffer): void {
    for (const frame of this.#decoder.push(chunk)) this.#onFrame(frame);
  }

  #onFrame(frame: Frame): void {
    if (frame.opcode === OP_TEXT) {
      const text = frame.payload.toString('utf8');
      this.#messages.push(text);
      this.onText?.(text);
      this.#wake();
    } else if (frame.opcode === OP_PING) {
      this.#socket.write(encodeFrame(OP_PONG, frame.payload, this.#masked));
    } else if (frame.opcode === OP_CLOSE) {
      const code = frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : null;
      this.#closeFrame = { code, reason: frame.payload.subarray(2).toString('utf8') };
      this.onClose?.(code);
      // Answer the close; the server side then closes the TCP connection (RFC 6455 7.1.1).
      if (!this.#socket.writableEnded) this.#socket.write(encodeFrame(OP_CLOSE, frame.payload, this.#masked));
      if (!this.#masked) this.#socket.end();
    }
  }

  #wake(): void {
    const waiter = this.#waiter;
    this.#waiter = null;
    waiter?.();
  }
}

/** Server side of the opening handshake, from a node `upgrade` event. */
export function acceptWebSocket(req: IncomingMessage, socket: Duplex, head: Buffer): WsPeer {
  const key = req.headers['sec-websocket-key'];
  if (typeof key !== 'string') {
    socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    throw new Error('upgrade request without Sec-WebSocket-Key');
  }
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`,
  );
  return new WsPeer(socket, 'server', head);
}

export class HandshakeRefusedError extends Error {
  readonly status: number;
  readonly body: string;
  constructor(status: number, body: string) {
    super(`websocket handshake refused with ${status}: ${body}`);
    this.status = status;
    this.body = body;
  }
}

/** Client side: resolves with an open peer, or rejects with HandshakeRefusedError on a non-101 answer. */
export function connectWebSocket(
  port: number,
  path: string,
  timeoutMs: number,
  headers: Record<string, string> = {},
): Promise<{ peer: WsPeer; response: IncomingMessage }> {
  const key = randomBytes(16).toString('base64');
  const req = http.request({
    host: '127.0.0.1',
    port,
    path,
    agent: false,
    headers: {
      ...headers,
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-key': key,
      'sec-websocket-version': '13',
    },
  });
  return new Promise((resolve, reject) => {
    // A deadline, not a wait: the upgrade is awaited as an event.
    const timer = setTimeout(() => req.destroy(new Error(`websocket handshake took over ${timeoutMs}ms`)), timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.on('upgrade', (response: IncomingMessage, socket: Duplex, head: Buffer) => {
      clearTimeout(timer);
      if (response.headers['sec-websocket-accept'] !== acceptKey(key)) {
        socket.destroy();
        reject(new Error('wrong Sec-WebSocket-Accept'));
        return;
      }
      resolve({ peer: new WsPeer(socket, 'client', head), response });
    });
    req.on('response', (response: IncomingMessage) => {
      const chunks: Buffer[] = [];
      response.on('data', (c: Buffer) => chunks.push(c));
      response.on('end', () => {
        clearTimeout(timer);
        reject(new HandshakeRefusedError(response.statusCode ?? 0, Buffer.concat(chunks).toString('utf8')));
      });
    });
    req.end();
  });
}
