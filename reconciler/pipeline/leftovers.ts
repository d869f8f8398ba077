// Scripts run in their own process group and containment, so a daemon that dies (SIGKILL, OOM,
// power cut inside a container) leaves its BUILD or TEST running. Each step marks itself in
// <root>/run/builds/<tag>.json (its group and its containment's mark) and clears the mark when it
// ends; a starting daemon stops what is still marked, so a build it runs again never shares its
// checkout with the one it replaces.
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isStepMark, type Containment } from '../../common/containment.js';
import { readStat } from '../../common/proc-table.js';
import { processGroup, stopProcesses } from '../../common/process-group.js';

interface StepMark {
  pgid: number;
  /** The leader's start time (/proc/<pid>/stat field 22): tells our leader from a later process that reused its pid. */
  startTime: string | null;
  /** The containment's mark of the step (see common/containment.ts); null in marks written before it existed. */
  mark: string | null;
}

/** Records the step led by `pid` in `file`. Never throws: a missing mark only loses the cleanup after a crash. */
export async function markStep(file: string, pid: number, mark: string): Promise<void> {
  try {
    await mkdir(path.dirname(file), { recursive: true });
    const record: StepMark = { pgid: pid, startTime: (await readStat(pid))?.startTime ?? null, mark };
    await writeFile(file, `${JSON.stringify(record)}\n`, { mode: 0o600 });
  } catch {
    // The step runs either way.
  }
}

export async function clearMark(file: string): Promise<void> {
  await rm(file, { force: true });
}

export interface LeftoverOptions {
  graceMs: number;
  containment: Containment;
  /** Tags this daemon builds right now: their marks are its own. */
  running: ReadonlySet<string>;
}

/**
 * Stops every step marked in `dir` that still runs (its group, then what its containment holds),
 * and removes the marks. Resolves with the mark names (the tags) of which something still ran.
 */
export async function stopLeftoverSteps(dir: string, options: LeftoverOptions): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const stopped: string[] = [];
  for (const name of names.filter((n) => n.endsWith('.json'))) {
    const tag = name.slice(0, -'.json'.length);
    if (options.running.has(tag)) continue;
    const file = path.join(dir, name);
    if (await stopMarked(await readMark(file), options)) stopped.push(tag);
    await clearMark(file);
  }
  return stopped;
}

async function stopMarked(mark: StepMark | null, options: LeftoverOptions): Promise<boolean> {
  if (mark === null) return false;
  const group = (await isOurs(mark)) ? await stopProcesses(processGroup(mark.pgid), options.graceMs) : null;
  // A containment that cannot answer (a user manager gone) must not stop the daemon from starting.
  const contained =
    mark.mark === null
      ? false
      : await options.containment.end(mark.mark, options.graceMs).catch((err: unknown) => {
          console.error(
            `hypervisor: cannot stop what a previous step left (${options.containment.kind}): ${String(err)}`,
          );
          return false;
        });
  return group?.signalled === true || contained;
}

async function readMark(file: string): Promise<StepMark | null> {
  try {
    const value = JSON.parse(await readFile(file, 'utf8')) as Partial<StepMark>;
    if (!Number.isSafeInteger(value.pgid) || (value.pgid ?? 0) <= 1) return null;
    return {
      pgid: value.pgid!,
      startTime: typeof value.startTime === 'string' ? value.startTime : null,
      mark: isStepMark(value.mark) ? value.mark : null,
    };
  } catch {
    return null;
  }
}

/**
 * The group is ours when its leader still runs with the recorded start time, or when the leader is
 * gone but members remain (Linux does not hand out a pid while a group of that id exists). Where
 * /proc cannot tell, nothing is signalled: a wrong kill is worse than a leftover.
 */
async function isOurs(mark: StepMark): Promise<boolean> {
  if (mark.startTime === null) return false;
  const now = await readStat(mark.pgid);
  return now === null ? true : now.startTime === mark.startTime;
}
