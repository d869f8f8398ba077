// A small, real file system for disk-full tests: a tmpfs of a fixed size mounted on a folder
// (`mount -t tmpfs -o size=512k`, which needs root), filled to the last block by a filler file and
// freed again by removing it. unmount() stops nothing: whoever keeps files open there (a backend's
// log) is the test's to stop first; a mount still busy then is detached lazily, so cleanup never fails.
import { execFile } from 'node:child_process';
import { mkdir, open, rm, statfs } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const FILLER = '.filler';

export interface Tmpfs {
  dir: string;
  /** Writes a filler file until the file system says ENOSPC; resolves with the bytes it took. */
  fill(): Promise<number>;
  /** Removes the filler. */
  free(): Promise<void>;
  /** Bytes this user may still write. */
  freeBytes(): Promise<number>;
  /** Remounts it read-only (true) or writable again (false): a disk the kernel gave up writing to. */
  readOnly(on: boolean): Promise<void>;
  unmount(): Promise<void>;
}

/** Why no tmpfs can be mounted here (not root, a container without CAP_SYS_ADMIN), or null when one can. */
export async function whyNoTmpfs(probeDir: string): Promise<string | null> {
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root';
  const dir = path.join(probeDir, 'tmpfs-probe');
  try {
    const fs = await mountTmpfs(dir, '64k');
    await fs.unmount();
    return null;
  } catch (err) {
    return `mount -t tmpfs failed: ${(err as Error).message.trim()}`;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Mounts a tmpfs of `size` (mount's syntax: 512k, 1m) on `dir`, created if missing. */
export async function mountTmpfs(dir: string, size = '512k'): Promise<Tmpfs> {
  await mkdir(dir, { recursive: true });
  await run('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir]);
  let mounted = true;
  return {
    dir,
    fill: () => fill(path.join(dir, FILLER)),
    free: () => rm(path.join(dir, FILLER), { force: true }),
    freeBytes: async () => {
      const fs = await statfs(dir);
      return fs.bavail * fs.bsize;
    },
    readOnly: async (on) => void (await run('mount', ['-o', `remount,${on ? 'ro' : 'rw'}`, dir])),
    unmount: async () => {
      if (!mounted) return;
      mounted = false;
      await run('umount', [dir]).catch(() => run('umount', ['-l', dir]));
    },
  };
}

async function fill(file: string): Promise<number> {
  const handle = await open(file, 'a');
  const block = Buffer.alloc(4096, 0x2e);
  let written = 0;
  try {
    for (;;) {
      const { bytesWritten } = await handle.write(block);
      written += bytesWritten;
      if (bytesWritten < block.length) return written;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOSPC') return written;
    throw err;
  } finally {
    await handle.close();
  }
}
