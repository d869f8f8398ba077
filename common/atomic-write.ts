// Crash-safe file replacement, the one writer of every file (and link) that must survive a crash: a
// reader (systemd, a restarted daemon) sees the old content or the new content, never a torn file.
// Temp file in the same folder (rename is atomic only within one file system), fsync the data
// before the rename, fsync the folder so the rename itself is durable.
import { randomBytes } from 'node:crypto';
import { link, open, readFile, rename, symlink, unlink } from 'node:fs/promises';
import path from 'node:path';
import { guardWrite } from './write-failure.js';

export interface AtomicWriteOptions {
  /** @default 0o644 */
  mode?: number;
  /**
   * Replace the file only while it still holds this text (null: while it does not exist), checked
   * once the new content is on disk, right before the rename: a file that others edit too (the
   * desired file) is not written over an edit saved meanwhile. Otherwise the result is `stale`.
   */
  expected?: string | null;
}

export interface AtomicWriteResult {
  changed: boolean;
  /** With `expected`: the file held something else, and was left as it was. */
  stale?: boolean;
}

/**
 * Replaces `file` with `content`. Returns `changed: false` (and writes nothing) when identical. A full
 * disk, a failing one or a folder it may not write rejects with WriteFailedError naming `file`.
 */
export function writeFileAtomic(
  file: string,
  content: string,
  options: AtomicWriteOptions = {},
): Promise<AtomicWriteResult> {
  return guardWrite(file, () => replaceFile(file, content, options));
}

async function replaceFile(file: string, content: string, options: AtomicWriteOptions): Promise<AtomicWriteResult> {
  const before = await readIfExists(file);
  if (before === content) return { changed: false };
  if (options.expected !== undefined && before !== options.expected) return { changed: false, stale: true };
  const temp = await writeTemp(file, content, options.mode ?? 0o644);
  try {
    // The sync in writeTemp takes milliseconds: look again just before the rename, which is instant.
    if (options.expected !== undefined && (await readIfExists(file)) !== options.expected) {
      await unlink(temp);
      return { changed: false, stale: true };
    }
    await rename(temp, file);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  await syncDir(path.dirname(file));
  return { changed: true };
}

/**
 * Creates `file` with `content` unless it exists, also against another process doing the same at
 * once: the temp file is hard-linked into place, which fails when the name is taken. Returns false
 * (and leaves the file alone) when it existed. A disk that refuses rejects with WriteFailedError.
 */
export function createFileAtomic(file: string, content: string, options: { mode: number }): Promise<boolean> {
  return guardWrite(file, () => createFile(file, content, options));
}

async function createFile(file: string, content: string, options: { mode: number }): Promise<boolean> {
  const temp = await writeTemp(file, content, options.mode);
  try {
    await link(temp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    // Some file systems have no hard links; there a plain rename is the best we can do.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
    await rename(temp, file);
  } finally {
    await unlink(temp).catch(() => undefined);
  }
  await syncDir(path.dirname(file));
  return true;
}

/** Points the symlink `name` at `target`: a new link renamed over the old one, so a reader never finds none. */
export function symlinkAtomic(target: string, name: string): Promise<void> {
  return guardWrite(name, async () => {
    const temp = tempBeside(name);
    await symlink(target, temp);
    try {
      await rename(temp, name);
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      throw err;
    }
    await syncDir(path.dirname(name));
  });
}

/** A new file beside `file` holding `content`, with `mode` from its creation on, fsynced; its path. */
async function writeTemp(file: string, content: string, mode: number): Promise<string> {
  const temp = tempBeside(file);
  try {
    const handle = await open(temp, 'wx', mode);
    try {
      await handle.writeFile(content, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  return temp;
}

/** In the same folder: rename is atomic only within one file system. */
function tempBeside(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** Removes `file` durably. Returns false when it did not exist. */
export function removeFileDurable(file: string): Promise<boolean> {
  return guardWrite(file, async () => {
    try {
      await unlink(file);
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
    await syncDir(path.dirname(file));
    return true;
  });
}

/** The file's text, or null when it does not exist. */
export async function readIfExists(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}
