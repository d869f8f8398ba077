// Which processes hold a file open, read from /proc (Linux): what tells a restore that a daemon,
// or any other program, is still using the store. Processes of other users cannot be inspected and
// are not listed; the store's folder is private (0700), so they cannot hold it either.
import { readdir, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';

export interface Holder {
  pid: number;
  command: string;
}

export async function processesHolding(files: readonly string[]): Promise<Holder[]> {
  const wanted = new Set(files.map((f) => path.resolve(f)));
  const holders: Holder[] = [];
  for (const entry of await readdir('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    if (await holds(pid, wanted)) holders.push({ pid, command: await commandOf(pid) });
  }
  return holders;
}

async function holds(pid: number, wanted: Set<string>): Promise<boolean> {
  const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
  for (const fd of fds) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => null);
    if (target !== null && wanted.has(target)) return true;
  }
  return false;
}

async function commandOf(pid: number): Promise<string> {
  const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return raw.split('\0').filter(Boolean).join(' ').slice(0, 200) || '?';
}
