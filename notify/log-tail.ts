// The last lines of a log for a message: read from the end of the file with a byte bound, so a huge
// log costs no more than a small one, and cleaned of terminal escapes and overlong lines.
import { open } from 'node:fs/promises';

export const TAIL_LINES = 20;
/** Bytes read from the end: 20 long lines fit, and memory stays bounded whatever the log. */
const TAIL_BYTES = 16 * 1024;
const LINE_CHARS = 400;

/** The last `lines` lines of `file`; null when there is no such file (pruned, never written). */
export async function logTail(file: string, lines = TAIL_LINES): Promise<string[] | null> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, TAIL_BYTES);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const text = buffer.toString('utf8');
    // A cut at the start may split a line (or a character): drop the partial first line.
    const all = text.split(/\r?\n/);
    if (size > length) all.shift();
    while (all.length > 0 && all[all.length - 1] === '') all.pop();
    return all.slice(-lines).map(clean);
  } finally {
    await handle.close();
  }
}

/** Colour and cursor sequences (ESC [ ... letter), as tools that think they write to a terminal emit them. */
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;?]*[A-Za-z]`, 'g');

/** Terminal escapes and other control characters would garble an email or a Slack message; tabs stay. */
function clean(line: string): string {
  const plain = [...line.replace(ANSI, '')]
    .filter((ch) => {
      const code = ch.charCodeAt(0);
      return code === 9 || (code >= 32 && code !== 127);
    })
    .join('');
  return plain.length > LINE_CHARS ? `${plain.slice(0, LINE_CHARS)}...` : plain;
}
