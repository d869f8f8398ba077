// How a follow stream frames what it sends. hyper-cli reads newline-delimited JSON (events, status)
// and plain text (logs); the dashboard reads server-sent events, whose EventSource reconnects by
// itself and sends back the last `id:` it saw (Last-Event-ID), so a stream resumes where it broke.
import type { Request, Response } from 'express';
import { once } from 'node:events';
import { HttpError } from './http-error.js';
import { queryFlag } from './query.js';

export interface FollowSink {
  /** One record (an event, a status); `id` is where a resumed stream starts after it. */
  item(record: unknown, id: number): Promise<void>;
  /** Bytes of a log; `endOffset` is the file offset just past them. */
  bytes(chunk: Buffer, endOffset: number): Promise<void>;
  /** Nothing new for a while: a write that fails shows a client gone, and idle proxies keep the line. */
  heartbeat(): Promise<void>;
  /** The stream is complete (the step ended): an EventSource must not reconnect. */
  end(): void;
}

/** How long an EventSource waits before it reconnects. */
const RETRY_MS = 2_000;

/** True when the client asked for server-sent events: EventSource's Accept header, or `?sse=1`. */
export function wantsSse(req: Request): boolean {
  return queryFlag(req, 'sse') || (req.get('accept') ?? '').includes('text/event-stream');
}

/** Where a reconnecting EventSource left off (its Last-Event-ID), or null on a first connection. */
export function lastEventId(req: Request): number | null {
  const header = req.get('last-event-id');
  if (header === undefined || header === '') return null;
  if (!/^\d{1,15}$/.test(header))
    throw new HttpError(400, 'invalid_last_event_id', `Last-Event-ID must be a whole number, got ${header}`);
  return Number(header);
}

/** Starts the answer and returns the sink for it; `text`: a log as plain text (hyper-cli), else NDJSON. */
export function openSink(req: Request, res: Response, signal: AbortSignal, text = false): FollowSink {
  const sse = wantsSse(req);
  const type = sse ? 'text/event-stream' : text ? 'text/plain; charset=utf-8' : 'application/x-ndjson';
  // X-Accel-Buffering: a proxy in front (nginx) passes each event on at once instead of buffering.
  res.type(type).set({ 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' }).flushHeaders();
  const write = (chunk: string | Buffer): Promise<void> => writeRespecting(res, chunk, signal);
  if (!sse) return plainSink(res, write, text);
  res.write(`retry: ${RETRY_MS}\n\n`);
  return sseSink(res, write);
}

function plainSink(res: Response, write: (chunk: string | Buffer) => Promise<void>, text: boolean): FollowSink {
  return {
    item: (record) => write(`${JSON.stringify(record)}\n`),
    bytes: (chunk) => write(chunk),
    // A blank line is nothing in NDJSON but would be a line of a plain-text log: a log stays as written.
    heartbeat: async () => (text ? undefined : write('\n')),
    end: () => res.end(),
  };
}

/**
 * Log bytes go out as whole lines (a JSON string each event): an event never splits a UTF-8
 * character, and its id is a line boundary where a resumed stream can start again.
 */
function sseSink(res: Response, write: (chunk: string) => Promise<void>): FollowSink {
  let pending = Buffer.alloc(0);
  const send = (data: unknown, id: number): Promise<void> => write(`id: ${id}\ndata: ${JSON.stringify(data)}\n\n`);
  return {
    item: (record, id) => send(record, id),
    bytes: async (chunk, endOffset) => {
      pending = Buffer.concat([pending, chunk]);
      const cut = pending.lastIndexOf(0x0a) + 1;
      if (cut === 0) return;
      const lines = pending.subarray(0, cut).toString('utf8');
      pending = Buffer.from(pending.subarray(cut));
      await send(lines, endOffset - pending.length);
    },
    heartbeat: () => write(': keep-alive\n\n'),
    end: () => {
      const tail = pending.length > 0 ? `data: ${JSON.stringify(pending.toString('utf8'))}\n\n` : '';
      res.end(`${tail}event: end\ndata: {}\n\n`);
    },
  };
}

/** Respects back-pressure: a slow client slows the stream, it does not fill the daemon's memory. */
async function writeRespecting(res: Response, chunk: string | Buffer, signal: AbortSignal): Promise<void> {
  if (res.write(chunk) || signal.aborted) return;
  await once(res, 'drain', { signal }).catch(() => undefined);
}
