// Reading the end of a log file on this host, and following it as it grows (hyperctl logs -f).
import { open, stat } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';

/** Enough for a few hundred lines of a chatty log; older lines are for `less FILE`. */
const TAIL_BYTES = 256 * 1024;
const FOLLOW_POLL_MS = 250;

/** The last `count` lines of `file` and its size then, or null when it does not exist. */
export async function readTail(file: string, count: number): Promise<{ lines: string[]; size: number } | null> {
  const handle = await open(file, 'r').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  if (!handle) return null;
  try {
    const { size } = await handle.stat();
    const start = Math.max(0, size - TAIL_BYTES);
    const buffer = Buffer.alloc(size - start);
    await handle.read(buffer, 0, buffer.length, start);
    const lines = buffer.toString('utf8').split('\n');
    if (start > 0) lines.shift(); // a partial first line
    if (lines.at(-1) === '') lines.pop();
    return { lines: lines.slice(-count), size };
  } finally {
    await handle.close();
  }
}

/** The last `count` lines written to `file` after byte `offset` (what one daemon start logged, say). */
export async function readSince(file: string, offset: number, count: number): Promise<string[]> {
  const tail = await readTail(file, Number.MAX_SAFE_INTEGER);
  if (tail === null) return [];
  let bytes = tail.size;
  const lines: string[] = [];
  // Walk back from the end while the lines are still past the offset.
  for (let i = tail.lines.length - 1; i >= 0 && lines.length < count; i--) {
    bytes -= Buffer.byteLength(tail.lines[i]!) + 1;
    if (bytes < offset - 1) break;
    lines.unshift(tail.lines[i]!);
  }
  return lines;
}

/**
 * Calls `write` with what is appended to `file` after `offset`, until `signal` aborts. A file that
 * shrinks was rotated or truncated: it is read again from its start.
 */
export async function followFile(
  file: string,
  offset: number,
  write: (text: string) => void,
  signal: AbortSignal,
): Promise<void> {
  let position = offset;
  const decoder = new TextDecoder();
  while (!signal.aborted) {
    const size = await stat(file).then(
      (s) => s.size,
      () => 0,
    );
    if (size < position) position = 0;
    if (size > position) {
      const handle = await open(file, 'r');
      try {
        const buffer = Buffer.alloc(Math.min(size - position, TAIL_BYTES));
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
        position += bytesRead;
        write(decoder.decode(buffer.subarray(0, bytesRead), { stream: true }));
      } finally {
        await handle.close();
      }
      continue;
    }
    await delay(FOLLOW_POLL_MS, undefined, { signal }).catch(() => undefined);
  }
}

/** Aborts on Ctrl-C, SIGTERM, or when whoever reads stdout goes away (`| head`). */
export function untilInterrupted(): AbortSignal {
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  process.stdout.once('error', stop);
  return controller.signal;
}
