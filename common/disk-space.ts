// Free space of the file systems the daemon writes to (root, logs, artifacts, checkouts, the store's
// folder), and one rule for when it is low: the daemon's status and `hyperctl doctor` use the same,
// so they never disagree about one disk. statfs per folder, grouped by device: a few syscalls.
import { stat, statfs } from 'node:fs/promises';
import path from 'node:path';

const KiB = 1024;
const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

/** When free space counts as low: under either bound (config `disk:`). */
export interface DiskThreshold {
  /** @default 1 GiB */
  minFreeBytes: number;
  /** Of the file system's size. @default 5 */
  minFreePercent: number;
}

export const DEFAULT_DISK_THRESHOLD: DiskThreshold = { minFreeBytes: GiB, minFreePercent: 5 };

/** Less than this free is a full disk, whatever the threshold: the next write of any size may fail. */
export const FULL_BYTES = MiB;

export interface FsSpace {
  /** The first folder asked about on this file system: the one messages name. */
  path: string;
  /** Every folder asked about that lies on it. */
  paths: string[];
  /** Bytes the daemon's user may still write (statfs bavail). */
  freeBytes: number;
  totalBytes: number;
  /** Inodes left; null when the file system does not count them. */
  freeInodes: number | null;
}

/** Measures each distinct file system under `dirs`; a folder not created yet counts as its nearest existing parent. */
export async function measureSpace(dirs: readonly string[]): Promise<FsSpace[]> {
  const byDevice = new Map<number, FsSpace>();
  for (const dir of dirs) {
    const existing = await nearestExisting(dir);
    const { dev } = await stat(existing);
    const known = byDevice.get(dev);
    if (known) {
      known.paths.push(dir);
      continue;
    }
    const fs = await statfs(existing);
    byDevice.set(dev, {
      path: dir,
      paths: [dir],
      freeBytes: fs.bavail * fs.bsize,
      totalBytes: fs.blocks * fs.bsize,
      freeInodes: fs.files > 0 ? fs.ffree : null,
    });
  }
  return [...byDevice.values()];
}

/** The free bytes below which `space` is low: the larger of the two bounds. */
export function thresholdBytes(space: Pick<FsSpace, 'totalBytes'>, threshold: DiskThreshold): number {
  return Math.max(threshold.minFreeBytes, Math.ceil((space.totalBytes * threshold.minFreePercent) / 100));
}

export function isLow(space: FsSpace, threshold: DiskThreshold): boolean {
  return space.freeBytes < thresholdBytes(space, threshold) || space.freeInodes === 0;
}

export function isFull(space: FsSpace): boolean {
  return space.freeBytes < FULL_BYTES || space.freeInodes === 0;
}

/** `<path>: 12 KiB free of 512 KiB (2%)`, and `no inodes left` when that is what is missing. */
export function describeSpace(space: FsSpace): string {
  const share = space.totalBytes > 0 ? Math.floor((space.freeBytes / space.totalBytes) * 100) : 0;
  const inodes = space.freeInodes === 0 ? ', no inodes left' : '';
  return `${space.path}: ${formatBytes(space.freeBytes)} free of ${formatBytes(space.totalBytes)} (${share}%)${inodes}`;
}

/** The threshold as an operator wrote it: `1 GiB or 5%`. */
export function describeThreshold(threshold: DiskThreshold): string {
  return `${formatBytes(threshold.minFreeBytes)} or ${threshold.minFreePercent}%`;
}

/** What to do about a low or full file system holding `dir`. */
export function diskFix(dir: string): string {
  return (
    `free space on the file system of ${dir} (old build logs, fewer kept releases: policy.keepReleases) ` +
    'or give it more room'
  );
}

export function formatBytes(bytes: number): string {
  if (bytes >= GiB) return `${(bytes / GiB).toFixed(1)} GiB`;
  if (bytes >= MiB) return `${(bytes / MiB).toFixed(1)} MiB`;
  if (bytes >= KiB) return `${Math.floor(bytes / KiB)} KiB`;
  return `${bytes} B`;
}

async function nearestExisting(dir: string): Promise<string> {
  let current = path.resolve(dir);
  for (;;) {
    try {
      await stat(current);
      return current;
    } catch (err) {
      const parent = path.dirname(current);
      if (parent === current) throw err;
      current = parent;
    }
  }
}
