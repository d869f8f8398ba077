// The source of one release: which commit it is, and a checkout of exactly that commit. A record
// that already names a SHA (from a signed webhook, or an earlier run) is built at that SHA and no
// other: a release is immutable, a tag moved afterwards does not change it. A record without one
// takes the commit the tag points to in the mirror.
import { lstat, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describeValue } from '../../common/describe.js';
import type { ReleaseRecord } from '../../common/types.js';
import type { RepoMirror, TagInfo } from './mirror.js';
import { ReleaseStopped } from './stopped.js';

export interface ReleaseSource {
  sha: string;
  author: string | null;
  taggedAt: string | null;
  /** VERSION at the commit; null when missing, not a regular file, or over 1 KiB. */
  version: string | null;
}

/** Fetches (once per change), settles the SHA, pins it, and checks it out into `dir`. */
export async function prepareSource(
  mirror: RepoMirror,
  repo: string,
  record: ReleaseRecord,
  dir: string,
  signal: AbortSignal,
): Promise<ReleaseSource> {
  let fetched = await mirror.refresh(signal);
  const { tag } = record;
  let info = await mirror.resolveTag(tag, signal);
  if (record.sha === null && info === null && !fetched) {
    fetched = await mirror.fetch(signal);
    info = await mirror.resolveTag(tag, signal);
  }
  const sha = record.sha ?? info?.commit ?? null;
  if (sha === null) throw new ReleaseStopped('rejected', `tag ${tag} does not exist in ${repo}`);
  const present = async (): Promise<boolean> => sha === info?.commit || mirror.hasCommit(sha, signal);
  if (!(await present()) && !fetched) await mirror.fetch(signal);
  if (!(await present())) {
    throw new ReleaseStopped(
      'rejected',
      `commit ${sha} of ${tag} is not in ${repo} (the tag was moved or deleted before it could be fetched)`,
    );
  }
  await mirror.pin(tag, sha, signal);
  await mirror.checkout(sha, dir, signal);
  const same: TagInfo | null = info?.commit === sha ? info : null;
  return {
    sha,
    author: record.author ?? same?.author ?? null,
    taggedAt: record.taggedAt ?? same?.taggedAt ?? null,
    version: await readVersion(dir),
  };
}

/**
 * VERSION of a checkout as a regular file of at most 1 KiB, trimmed; null otherwise. A symlink is
 * not followed: its target would be a file of this host, and the value ends up in an error message
 * shown by the API.
 */
async function readVersion(dir: string): Promise<string | null> {
  const file = path.join(dir, 'VERSION');
  const info = await lstat(file).catch(() => null);
  if (!info?.isFile() || info.size > 1024) return null;
  return (await readFile(file, 'utf8')).trim();
}

/** Why a checkout is not the release its tag names: VERSION must be the tag without its v. */
export function versionMismatch(tag: string, version: string | null): string {
  if (version === null) return `VERSION at ${tag} is missing, not a regular file, or larger than 1 KiB`;
  return (
    `VERSION at ${tag} is ${describeValue(version)}, but a release tag must be v + VERSION (expected ` +
    `${JSON.stringify(tag.slice(1))})`
  );
}
