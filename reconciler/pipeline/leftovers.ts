// Scripts run in their own process group, so a daemon that dies (SIGKILL, OOM, power cut inside a
// container) leaves its BUILD or TEST running. Each step marks its group in <root>/run/builds/ and
// clears the mark when the group is gone; a starting daemon stops the groups still marked, so a
// build it runs again never shares its checkout with the one it replaces.
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ProcessGroup } from './process-group.js';

interface GroupMark {
  pgid: number;
  /** The leader's start time (/proc/<pid>/stat field 22): tells our leader from a later process that reused its pid. */
  startTime: string | null;
}

/** Records the group led by `pid` in `file`. Never throws: a missing mark only loses the cleanup after a crash. */
export async function markGroup(file: string, pid: number): Promise<void> {
  try {
    await mkdir(path.dirname(file), { recursive: true });
    const mark: GroupMark = { pgid: pid, startTime: await startTimeOf(pid) };
    await writeFile(file, `${JSON.stringify(mark)}\n`, { mode: 0o600 });
  } catch {
    // The step runs either way.
  }
}

export async function clearMark(file: string): Promise<void> {
  await rm(file, { force: true });
}

/**
 * Stops every group marked in `dir` that still runs, and removes the marks. Resolves with the
 * mark names (the tags) whose group was still alive.
 */
export async function stopLeftoverGroups(dir: string, graceMs: number): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const stopped: string[] = [];
  for (const name of names.filter((n) => n.endsWith('.json'))) {
    const file = path.join(dir, name);
    const mark = await readMark(file);
    if (mark && (await isOurs(mark))) {
      const report = await new ProcessGroup(mark.pgid, graceMs).stop();
      if (report.signalled) stopped.push(name.slice(0, -'.json'.length));
    }
    await clearMark(file);
  }
  return stopped;
}

async function readMark(file: string): Promise<GroupMark | null> {
  try {
    const value = JSON.parse(await readFile(file, 'utf8')) as Partial<GroupMark>;
    if (!Number.isSafeInteger(value.pgid) || (value.pgid ?? 0) <= 1) return null;
    return { pgid: value.pgid!, startTime: typeof value.startTime === 'string' ? value.startTime : null };
  } catch {
    return null;
  }
}

/**
 * The group is ours when its leader still runs with the recorded start time, or when the leader is
 * gone but members remain (Linux does not hand out a pid while a group of that id exists). Where
 * /proc cannot tell, nothing is signalled: a wrong kill is worse than a leftover.
 */
async function isOurs(mark: GroupMark): Promise<boolean> {
  if (mark.startTime === null) return false;
  const now = await startTimeOf(mark.pgid);
  return now === null ? true : now === mark.startTime;
}

async function startTimeOf(pid: number): Promise<string | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ")".
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}
