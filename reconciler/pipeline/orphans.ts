// What a daemon killed mid-build leaves besides its steps' scripts (leftovers.ts): git processes
// still working in the mirror or a checkout (git runs as a plain child of the daemon and outlives
// it), and the temporary folders a BUILD wrote into (artifacts/.build-<tag>-*) or an old artifact
// was moved aside to (artifacts/.old-<tag>-*). A starting daemon ends the first and removes the second.
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { cwdOf, descendantsOf, liveProcesses, type ProcStat } from '../../common/proc-table.js';
import { processesWhere, stopProcesses } from '../../common/process-group.js';

/** Prefix of the folder BUILD writes into; the tag and a random suffix follow. */
export const BUILD_TEMP_PREFIX = '.build-';
/** Prefix of the folder an artifact is moved to while its replacement takes its place. */
export const OLD_ARTIFACT_PREFIX = '.old-';

/**
 * Stops git processes whose working folder is inside one of `folders` and that this daemon did not
 * start (they are not its descendants: their daemon is gone). Resolves with how many still ran.
 * Git is found by where it works because its runner carries no mark of its own.
 */
export async function stopOrphanGit(folders: readonly string[], graceMs: number): Promise<number> {
  const table = (await liveProcesses()) ?? [];
  const ours = descendantsOf(process.pid, table);
  const orphans = await gitWorkingIn(
    table.filter((p) => !ours.has(p.pid)),
    folders,
  );
  if (orphans.size === 0) return 0;
  // Matched by pid and start time: a pid reused while we wait is another process.
  await stopProcesses(
    processesWhere(async (p) => orphans.get(p.pid) === p.startTime),
    graceMs,
  );
  return orphans.size;
}

/** pid -> start time of the git processes working inside `folders`. */
async function gitWorkingIn(table: readonly ProcStat[], folders: readonly string[]): Promise<Map<number, string>> {
  const found = new Map<number, string>();
  for (const p of table.filter((entry) => entry.comm === 'git' || entry.comm.startsWith('git-'))) {
    const cwd = await cwdOf(p.pid);
    if (cwd !== null && folders.some((folder) => cwd === folder || cwd.startsWith(`${folder}${path.sep}`))) {
      found.set(p.pid, p.startTime);
    }
  }
  return found;
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
