// What a daemon killed mid-build leaves besides its steps' scripts (leftovers.ts): git processes
// still fetching into the mirror or checking out a release (git runs as a plain child of the daemon
// and outlives it), and the temporary folders a BUILD wrote into (artifacts/.build-<tag>-*) or an
// old artifact was moved aside to (artifacts/.old-<tag>-*). A starting daemon ends the first and
// removes the second.
import { createHash } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { STEP_MARK_VAR } from '../../common/containment.js';
import { descendantsOf, environHas, liveProcesses } from '../../common/proc-table.js';
import { processesWhere, stopProcesses } from '../../common/process-group.js';

/** Prefix of the folder BUILD writes into; the tag and a random suffix follow. */
export const BUILD_TEMP_PREFIX = '.build-';
/** Prefix of the folder an artifact is moved to while its replacement takes its place. */
export const OLD_ARTIFACT_PREFIX = '.old-';

/**
 * The containment mark the pipeline's git carries (common/git.ts): the same for every daemon of one
 * root, so that a daemon restarted after a crash knows the mark of what its predecessor left.
 */
export function gitMarkOf(root: string): string {
  return createHash('sha256')
    .update(`git:${path.resolve(root)}`)
    .digest('hex')
    .slice(0, 16);
}

/**
 * Stops the processes that carry `mark` (git and whatever it started: a remote helper, ssh) and
 * that this daemon did not start (they are not its descendants: their daemon is gone). Resolves
 * with how many still ran.
 */
export async function stopOrphanGit(mark: string, graceMs: number): Promise<number> {
  const entry = `${STEP_MARK_VAR}=${mark}`;
  const table = (await liveProcesses()) ?? [];
  const ours = descendantsOf(process.pid, table);
  const orphans = new Map<number, string>();
  for (const p of table) {
    if (!ours.has(p.pid) && (await environHas(p.pid, entry))) orphans.set(p.pid, p.startTime);
  }
  if (orphans.size === 0) return 0;
  // Matched by pid and start time: a pid reused while we wait is another process.
  await stopProcesses(
    processesWhere(async (p) => orphans.get(p.pid) === p.startTime),
    graceMs,
  );
  return orphans.size;
}

/**
 * Removes the temporary folders of builds in `artifactsRoot`, except those of `running` tags (this
 * daemon's own builds). Resolves with the names it removed.
 */
export async function removeBuildTemps(artifactsRoot: string, running: ReadonlySet<string>): Promise<string[]> {
  const names = await readdir(artifactsRoot).catch(() => [] as string[]);
  const stale = names.filter((name) => isTempOf(name) && ![...running].some((tag) => isTempOf(name, tag)));
  for (const name of stale) await rm(path.join(artifactsRoot, name), { recursive: true, force: true });
  return stale;
}

/** Whether `name` is a temporary folder, of `tag` when given. */
function isTempOf(name: string, tag?: string): boolean {
  return [BUILD_TEMP_PREFIX, OLD_ARTIFACT_PREFIX].some((prefix) =>
    name.startsWith(tag === undefined ? prefix : `${prefix}${tag}-`),
  );
}
