// The files a run needs and leaves: the script it runs must be in the checkout, and BUILD must write
// the executable; the new artifact folder then takes the place of the old one in one rename.
import { randomUUID } from 'node:crypto';
import { rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { OLD_ARTIFACT_PREFIX } from './orphans.js';
import { ReleaseStopped } from './stopped.js';

export async function requireScript(checkout: string, script: string, tag: string): Promise<void> {
  const info = await stat(path.join(checkout, script)).catch(() => null);
  if (!info?.isFile()) throw new ReleaseStopped('failed', `the script ${script} does not exist at ${tag}`);
}

export async function requireExecutable(dir: string, version: string, script: string): Promise<void> {
  const info = await stat(path.join(dir, version)).catch(() => null);
  if (!info?.isFile() || (info.mode & 0o111) === 0) {
    throw new ReleaseStopped(
      'failed',
      `${script} exited 0 but did not write the executable ${version} into its --output folder`,
    );
  }
}

/** Puts `from` in the place of `to`: the old folder is moved aside first, so `to` is never half-written. */
export async function replaceDir(from: string, to: string): Promise<void> {
  const aside = path.join(path.dirname(to), `${OLD_ARTIFACT_PREFIX}${path.basename(to)}-${randomUUID()}`);
  const moved = await rename(to, aside).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return false;
      throw err;
    },
  );
  await rename(from, to);
  if (moved) await rm(aside, { recursive: true, force: true });
}
