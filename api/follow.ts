// Streams that follow something as it grows: a log file, the event trail. Every stream has an end:
// the client leaving, the caller's session ending, or MAX_FOLLOW_MS, whichever comes first.
import type { Response } from 'express';
import { open } from 'node:fs/promises';
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { startDeadline } from '../common/deadline.js';
import type { EventRecord } from '../common/types.js';
import type { Principal } from './auth/principal.js';

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
 * Writes `file` from the start, then what is appended, while `growing()` says the writer is still
 * at work; after it says no, one last read. A file that shrinks was replaced by a new run: start over.
 */
export async function followFile(
  res: Response,
  file: string,
  growing: () => Promise<boolean>,
  signal: AbortSignal,
  pollMs = 250,
): Promise<void> {
  let offset = 0;
  while (!signal.aborted) {
    const still = await growing();
    offset = await copyFrom(res, file, offset, signal);
    if (!still) break;
    if (!(await sleep(pollMs, signal))) break;
  }
  res.end();
}

/** Newline-delimited JSON events after `afterId`, polling the store (other hosts write to it too). */
export async function followEvents(
  res: Response,
  list: (afterId: number) => Promise<EventRecord[]>,
  afterId: number,
  signal: AbortSignal,
  pollMs = 500,
): Promise<void> {
  let last = afterId;
  let quietSince = Date.now();
  while (!signal.aborted) {
    const events = await list(last);
    for (const event of events) {
      await write(res, `${JSON.stringify(event)}\n`, signal);
      last = event.id;
      quietSince = Date.now();
    }
    // A blank line now and then: a client that is gone shows up as a failed write, and idle proxies keep
    // the connection.
    if (Date.now() - quietSince >= HEARTBEAT_MS) {
      await write(res, '\n', signal);
      quietSince = Date.now();
    }
    if (events.length === 0 && !(await sleep(pollMs, signal))) break;
  }
  res.end();
}

async function copyFrom(res: Response, file: string, offset: number, signal: AbortSignal): Promise<number> {
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
      await write(res, Buffer.from(buffer.subarray(0, bytesRead)), signal);
      position += bytesRead;
    }
    return position;
  } finally {
    await handle.close();
  }
}

/** Respects back-pressure: a slow client slows the stream, it does not fill the daemon's memory. */
async function write(res: Response, chunk: string | Buffer, signal: AbortSignal): Promise<void> {
  if (res.write(chunk) || signal.aborted) return;
  await once(res, 'drain', { signal }).catch(() => undefined);
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
