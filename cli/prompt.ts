// Reading secrets and answers from the operator: a hidden prompt on a terminal, or stdin for
// scripts. Every read has a deadline: a forgotten prompt or an open pipe must not hang forever.
import { createInterface } from 'node:readline/promises';
import { UsageError } from './output.js';

const PROMPT_TIMEOUT_MS = 5 * 60_000;
/** Well above the API's 512-byte password cap, so the API's own message explains a long one. */
const MAX_STDIN_BYTES = 64 * 1024;

export function isInteractive(): boolean {
  return Boolean(process.stdin.isTTY && process.stderr.isTTY);
}

/** A visible one-line answer on the terminal (the prompt goes to stderr, so stdout stays clean). */
export async function promptLine(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  try {
    return (await rl.question(question, { signal: AbortSignal.timeout(PROMPT_TIMEOUT_MS) })).trim();
  } catch {
    throw new UsageError('no answer given');
  } finally {
    rl.close();
  }
}

/** A hidden answer: raw mode, nothing echoed; Enter ends it, Ctrl-C cancels, Backspace erases. */
export function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  // Echo off before the question shows: keys typed (or pasted) right after it must not appear.
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  process.stderr.write(question);
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (err: Error | null): void => {
      clearTimeout(timer);
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const timer = setTimeout(() => finish(new UsageError('no password given in time')), PROMPT_TIMEOUT_MS);
    const onData = (chunk: string): void => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n') return finish(null);
        if (char === '\u0003' || char === '\u0004') return finish(new UsageError('cancelled'));
        if (char === '\u007f' || char === '\b') value = [...value].slice(0, -1).join('');
        else value += char;
      }
    };
    stdin.on('data', onData);
  });
}

/** All of stdin, less one trailing newline (`echo pw |` adds it; the rest of the bytes are the password). */
export async function readStdinSecret(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  const deadline = AbortSignal.timeout(PROMPT_TIMEOUT_MS);
  const stream = process.stdin;
  const done = new Promise<void>((resolve, reject) => {
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_STDIN_BYTES)
        reject(new UsageError(`stdin holds more than ${MAX_STDIN_BYTES} bytes; a password is at most 512`));
      else chunks.push(chunk);
    });
    stream.once('end', resolve);
    stream.once('error', reject);
    deadline.addEventListener('abort', () => reject(new UsageError('stdin was not closed in time')), { once: true });
  });
  try {
    await done;
  } finally {
    stream.pause();
    stream.removeAllListeners('data');
  }
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** A new password: typed twice on a terminal, or read from stdin. */
export async function newPassword(): Promise<string> {
  if (!isInteractive()) return readStdinSecret();
  const first = await promptHidden('new password: ');
  const again = await promptHidden('again: ');
  if (first !== again) throw new UsageError('the two passwords differ');
  return first;
}
