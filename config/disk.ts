// The `disk:` section: when free space on a folder the daemon writes to counts as low. Free space
// under either bound is low: `minFree` is what a build with its checkout, artifact and logs needs
// on any disk; `minFreePercent` catches a big disk that is nearly full, and so filling fast. Either
// bound is turned off with 0.
import path from 'node:path';
import { DEFAULT_DISK_THRESHOLD, type DiskThreshold } from '../common/disk-space.js';
import type { ObjectReader } from './reader.js';

export type DiskConfig = DiskThreshold;

export function readDisk(r: ObjectReader): DiskConfig {
  const { minFreeBytes, minFreePercent } = DEFAULT_DISK_THRESHOLD;
  const disk = {
    minFreeBytes: r.size('minFree', `${minFreeBytes}`),
    minFreePercent: r.number('minFreePercent', minFreePercent, 0, 100),
  };
  r.rejectUnknown();
  return disk;
}

/** The folders the daemon writes to, whose free space it watches: root, logs, artifacts, checkouts, the store's. */
export function writtenDirs(config: {
  root: string;
  store: { kind: string; path?: string };
  desired: { file: string | null };
}): string[] {
  const { root } = config;
  const dirs = [root, ...['logs', 'artifacts', 'repos'].map((name) => path.join(root, name))];
  if (config.store.kind === 'embedded' && config.store.path) dirs.push(path.dirname(config.store.path));
  if (config.desired.file !== null) dirs.push(path.dirname(config.desired.file));
  return dirs;
}
