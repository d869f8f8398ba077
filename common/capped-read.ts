// Reading a file the daemon depends on (desired state, config, secrets, certificates) without
// trusting its size: fstat first and refuse a file over its cap before reading a byte of it, then
// read at most cap + 1 bytes, so a file that grows meanwhile, or a device with no size, stops too.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { FileTooLargeError } from './limits.js';

const CHUNK = 64 * 1024;

/** The bytes of `file`; FileTooLargeError (naming `what`, the file, its size and `cap`) when over. */
export async function readCappedFile(file: string, cap: number, what: string): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const steps = cappedChunks(file, cap, what, (await handle.stat()).size);
    let step = steps.next();
    while (!step.done) step = steps.next((await handle.read(step.value, 0, step.value.length, null)).bytesRead);
    return step.value;
  } finally {
    await handle.close();
  }
}

export async function readCappedText(file: string, cap: number, what: string): Promise<string> {
  return (await readCappedFile(file, cap, what)).toString('utf8');
}

/** The same, synchronously: for what must be read before the daemon opens a listener. */
export function readCappedFileSync(file: string, cap: number, what: string): Buffer {
  const fd = openSync(file, 'r');
  try {
    const steps = cappedChunks(file, cap, what, fstatSync(fd).size);
    let step = steps.next();
    while (!step.done) step = steps.next(readSync(fd, step.value, 0, step.value.length, null));
    return step.value;
  } finally {
    closeSync(fd);
  }
}

/**
 * The reading itself, for either kind of file handle: yields the buffer to read into next, takes
 * how many bytes the read filled (0 at the end), and returns the whole content. Throws
 * FileTooLargeError when the size says so, or when more than `cap` bytes come anyway.
 */
function* cappedChunks(file: string, cap: number, what: string, size: number): Generator<Buffer, Buffer, number> {
  if (size > cap) throw new FileTooLargeError(what, file, size, cap);
  const chunks: Buffer[] = [];
  let total = 0;
  while (total <= cap) {
    const chunk = Buffer.alloc(Math.min(CHUNK, cap + 1 - total));
    const bytesRead = yield chunk;
    if (bytesRead === 0) break;
    chunks.push(chunk.subarray(0, bytesRead));
    total += bytesRead;
  }
  if (total > cap) throw new FileTooLargeError(what, file, null, cap);
  return Buffer.concat(chunks, total);
}
