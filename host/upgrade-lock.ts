// One upgrade at a time per host: a lock file holding the owner's pid, created exclusively. A lock
// whose owner is no longer alive (a crashed or killed upgrade) is taken over.
import { open, readFile, rm } from 'node:fs/promises';
import { HypervisorError } from '../common/errors.js';
import { pidExists } from '../common/proc-table.js';

export class LockedError extends HypervisorError {
  constructor(message: string) {
    super('locked', message);
  }
}

export async function acquireLock(file: string, what: string): Promise<() => Promise<void>> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, 'wx', 0o600);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return () => rm(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(owner) && owner > 0 && pidExists(owner)) {
        throw new LockedError(
          `another ${what} is running (pid ${owner}); wait for it, or remove ${file} if that process is not hyperctl`,
        );
      }
      await rm(file, { force: true });
    }
  }
  throw new LockedError(`cannot take ${file}: another ${what} keeps taking it`);
}
