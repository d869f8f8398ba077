// When free space is low: one rule for `hyperctl doctor` (a warning) and the daemon's disk watch
// (a disk_low notification), so the two never disagree about the same disk.

export const GiB = 1024 ** 3;
/** Less free than this is low, whatever the disk's size: a release's checkout and artifact need room. */
export const LOW_FREE_BYTES = 2 * GiB;
/** Less than this share of the disk free is low too. */
export const LOW_FREE_SHARE = 0.05;

export interface DiskSpace {
  /** Bytes an unprivileged process may still write. */
  free: number;
  total: number;
}

export function isLow(space: DiskSpace): boolean {
  const share = space.total > 0 ? space.free / space.total : 0;
  return space.free < LOW_FREE_BYTES || share < LOW_FREE_SHARE;
}

/**
 * Back to normal only with some room above the line (a quarter more), so a disk that hovers at the
 * line does not flap between low and ok with every file written and removed.
 */
export function isClearlyOk(space: DiskSpace): boolean {
  return !isLow({ free: space.free / 1.25, total: space.total });
}

export function describeSpace(space: DiskSpace, where: string): string {
  const share = space.total > 0 ? Math.round((space.free / space.total) * 100) : 0;
  return `${(space.free / GiB).toFixed(1)} GiB free under ${where} (${share}%)`;
}
