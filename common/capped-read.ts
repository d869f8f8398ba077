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
    const { size } = await handle.stat();
    if (size > cap) throw new FileTooLargeError(what, file, size, cap);
    const chunks: Buffer[] = [];
    let total = 0;
    while (total <= cap) {
      const chunk = Buffer.alloc(Math.min(CHUNK, cap + 1 - total));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      total += bytesRead;
    }
    if (total > cap) throw new FileTooLargeError(what, file, null, cap);
    return Buffer.concat(chunks, total);
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
    const { size } = fstatSync(fd);
    if (size > cap) throw new FileTooLargeError(what, file, size, cap);
    const chunks: Buffer[] = [];
    let total = 0;
    while (total <= cap) {
      const chunk = Buffer.alloc(Math.min(CHUNK, cap + 1 - total));
      const bytesRead = readSync(fd, chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      total += bytesRead;
    }
    if (total > cap) throw new FileTooLargeError(what, file, null, cap);
    return Buffer.concat(chunks, total);
  } finally {
    closeSync(fd);
  }
}
