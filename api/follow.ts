// Streams that follow something as it grows or changes: a log file, the event trail (and the webhook
// deliveries), the status.
// Every stream has an end: the client leaving, the caller's session ending, or MAX_FOLLOW_MS,
// whichever comes first.
import type { Response } from 'express';
import { open } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { startDeadline } from '../common/deadline.js';
import type { EventRecord } from '../common/types.js';
import type { Principal } from './auth/principal.js';
import type { FollowSink } from './follow-sink.js';

/** The longest a single follow lasts; a client that wants more reconnects (events: with ?after=). */
export const MAX_FOLLOW_MS = 60 * 60_000;
const CHUNK_BYTES = 64 * 1024;
const HEARTBEAT_MS = 15_000;

/** How often a follow asks whether the caller's session is still good (logout, user removed). */
const RECHECK_MS = 5_000;

/** Aborts when the client goes away, the session ends or is revoked, or MAX_FOLLOW_MS passes. */
export function followSignal(
  res: Response,
  principal: Principal,
  stillAuthenticated: () => Promise<boolean>,
): AbortSignal {
  const gone = new AbortController();
  const timer = setInterval(() => {
    void stillAuthenticated().then(
      (ok) => {
        if (!ok) gone.abort();
      },
      () => gone.abort(),
    );
  }, RECHECK_MS);
  timer.unref();
  res.once('close', () => {
    clearInterval(timer);
    gone.abort();
  });
  gone.signal.addEventListener('abort', () => clearInterval(timer), { once: true });
  const untilExpiry = principal.expiresAt === null ? MAX_FOLLOW_MS : Date.parse(principal.expiresAt) - Date.now();
  return startDeadline(Math.min(MAX_FOLLOW_MS, untilExpiry), gone.signal).signal;
}

/**
 * Sends `file` from `offset` (0: the start), then what is appended, while `growing()` says the writer
 * is still at work; after it says no, one last read. A file that shrinks was replaced by a new run:
 * start over. A stream cut short (client gone, session ended, MAX_FOLLOW_MS) is not told it is complete.
 */
export async function followFile(
  res: Response,
  file: string,
  growing: () => Promise<boolean>,
  signal: AbortSignal,
  sink: FollowSink,
  offset = 0,
  pollMs = 250,
): Promise<void> {
  let position = offset;
  let quietSince = Date.now();
  while (!signal.aborted) {
    const still = await growing();
    const next = await copyFrom(sink, file, position, signal);
    if (next !== position) quietSince = Date.now();
    position = next;
    if (!still) break;
    if (Date.now() - quietSince >= HEARTBEAT_MS) {
      await sink.heartbeat();
      quietSince = Date.now();
    }
    if (!(await sleep(pollMs, signal))) break;
  }
  if (signal.aborted) res.end();
  else sink.end();
}

/** Events after `afterId` as they are written, polling the store (other hosts write to it too). */
export function followEvents(
  res: Response,
  list: (afterId: number) => Promise<EventRecord[]>,
  afterId: number,
  signal: AbortSignal,
  sink: FollowSink,
  pollMs = 500,
): Promise<void> {
  return followAfter(res, { list, cursorOf: (e) => e.id, idOf: (e) => e.id }, afterId, signal, sink, pollMs);
}

/** How a stream of records reads what came after the last one it sent. */
export interface Trail<T, C> {
  list(after: C): Promise<T[]>;
  cursorOf(record: T): C;
  /** The SSE id a resumed stream starts after. */
  idOf(record: T, sent: number): number;
}

/** Records after `start` as they are written (events, webhook deliveries), polling the store. */
export async function followAfter<T, C>(
  res: Response,
  trail: Trail<T, C>,
  start: C,
  signal: AbortSignal,
  sink: FollowSink,
  pollMs = 500,
): Promise<void> {
  let last = start;
  let sent = 0;
  let quietSince = Date.now();
  while (!signal.aborted) {
    const records = await trail.list(last);
    for (const record of records) {
      await sink.item(record, trail.idOf(record, ++sent));
      last = trail.cursorOf(record);
      quietSince = Date.now();
    }
    if (Date.now() - quietSince >= HEARTBEAT_MS) {
      await sink.heartbeat();
      quietSince = Date.now();
    }
    if (records.length === 0 && !(await sleep(pollMs, signal))) break;
  }
  res.end();
}

/**
 * Whatever `read()` answers, each time it differs from the last one sent (the first at once), looked
 * at every `pollMs`: the dashboard's overview stays live without a timer of its own, which a
 * browser slows down in a tab that is not in front.
 */
export async function followChanges(
  res: Response,
  read: () => Promise<unknown>,
  signal: AbortSignal,
  sink: FollowSink,
  pollMs = 500,
): Promise<void> {
  let sent = '';
  let count = 0;
  let quietSince = Date.now();
  while (!signal.aborted) {
    const value = await read();
    const text = JSON.stringify(value);
    if (text !== sent) {
      await sink.item(value, ++count);
      sent = text;
      quietSince = Date.now();
    } else if (Date.now() - quietSince >= HEARTBEAT_MS) {
      await sink.heartbeat();
      quietSince = Date.now();
    }
    if (!(await sleep(pollMs, signal))) break;
  }
  res.end();
}

async function copyFrom(sink: FollowSink, file: string, offset: number, signal: AbortSignal): Promise<number> {
  const handle = await open(file, 'r').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  if (!handle) return 0;
  try {
    const { size } = await handle.stat();
    let position = size < offset ? 0 : offset;
    const buffer = Buffer.alloc(CHUNK_BYTES);
    while (position < size && !signal.aborted) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(CHUNK_BYTES, size - position), position);
      if (bytesRead === 0) break;
      position += bytesRead;
      await sink.bytes(Buffer.from(buffer.subarray(0, bytesRead)), position);
    }
    return position;
  } finally {
    await handle.close();
  }
}

/** False when the wait was cut short by the signal. */
async function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await delay(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}
