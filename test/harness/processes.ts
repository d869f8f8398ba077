// Which processes run right now, from /proc: for tests that prove a killed script left no child.
import { readdir, readFile } from 'node:fs/promises';

/** Pids whose command line contains `needle` (zombies have none, so they do not count). */
export async function processesMatching(needle: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.split('\0').join(' ').includes(needle)) pids.push(Number(entry));
  }
  return pids;
}
