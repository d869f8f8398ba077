// Whether the folders a build writes to sit on a full file system: a script that failed there most
// likely failed for it (its own error says only "exit 1"), and an unfinished build is not worth
// running again until there is room. The failure then names the folder, the cause and the fix.
import { diskFix, formatBytes, isFull, measureSpace } from '../../common/disk-space.js';

/** `no space left on device at <dir> (...); fix: ...` for the full ones among `dirs`, or null. */
export async function fullDiskNote(dirs: readonly string[]): Promise<string | null> {
  const spaces = await measureSpace(dirs).catch(() => []);
  const full = spaces.filter(isFull);
  if (full.length === 0) return null;
  const where = full.map(
    (space) =>
      `no space left on device at ${space.path} (${formatBytes(space.freeBytes)} free of ` +
      `${formatBytes(space.totalBytes)}${space.freeInodes === 0 ? ', no inodes left' : ''})`,
  );
  return `${where.join('; ')}; fix: ${diskFix(full[0]!.path)}, then rebuild`;
}
