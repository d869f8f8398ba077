// Reading a desired-state file for `desired apply -f` and `desired diff -f` (`-` is stdin).
import { readFile } from 'node:fs/promises';
import { UsageError } from '../output.js';
import { readStdinSecret } from '../prompt.js';

const MAX_BYTES = 64 * 1024;

export async function readDesiredFile(file: string | undefined, verb: string): Promise<string> {
  if (file === undefined) throw new UsageError(`hyper-cli desired ${verb} needs -f FILE (YAML or JSON; - for stdin)`);
  const text =
    file === '-'
      ? await readStdinSecret()
      : await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
          throw new UsageError(`cannot read ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
        });
  if (Buffer.byteLength(text) > MAX_BYTES)
    throw new UsageError(`${file} is larger than ${MAX_BYTES} bytes; a desired state is a few lines`);
  return text;
}
