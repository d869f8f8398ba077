// Crash-safe file replacement: a reader (systemd, a restarted daemon) sees the old content or the
// new content, never a torn file. Temp file in the same folder (rename is atomic only within one
// file system), fsync the data before the rename, fsync the folder so the rename itself is durable.
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';

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

/** Replaces `file` with `content`. Returns `changed: false` (and writes nothing) when identical. */
export async function writeFileAtomic(
  file: string,
  content: string,
  options: AtomicWriteOptions = {},
): Promise<AtomicWriteResult> {
  const before = await readIfExists(file);
  if (before === content) return { changed: false };
  if (options.expected !== undefined && before !== options.expected) return { changed: false, stale: true };
  const temp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  );
  try {
    const handle = await open(temp, 'wx', options.mode ?? 0o644);
    try {
      await handle.writeFile(content, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    // The sync above takes milliseconds: look again just before the rename, which is instant.
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

/** Removes `file` durably. Returns false when it did not exist. */
export async function removeFileDurable(file: string): Promise<boolean> {
  try {
    await unlink(file);
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
  await syncDir(path.dirname(file));
  return true;
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
