// The process table as Linux shows it in /proc: which processes run, in which group, started when,
// with which environment. Every reader answers null (or "no") for a process
// that exited while we looked or that belongs to another user, never throws.
import { readdir, readFile } from 'node:fs/promises';

export interface ProcStat {
  pid: number;
  /** One letter: R, S, D, T, Z (zombie), X (dead), ... */
  state: string;
  ppid: number;
  pgrp: number;
  /** The executable's name, at most 15 characters. */
  comm: string;
  /** Clock ticks after boot (field 22): tells a process from a later one that reuses its pid. */
  startTime: string;
}

/** Every pid in /proc, or null where /proc cannot be read (not Linux). */
export async function listPids(): Promise<number[] | null> {
  try {
    return (await readdir('/proc')).filter((entry) => /^\d+$/.test(entry)).map(Number);
  } catch {
    return null;
  }
}

export async function readStat(pid: number): Promise<ProcStat | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so split after the last ")".
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    return {
      pid,
      state: fields[0] ?? '',
      ppid: Number(fields[1]),
      pgrp: Number(fields[2]),
      comm: stat.slice(stat.indexOf('(') + 1, close),
      startTime: fields[19] ?? '',
    };
  } catch {
    return null;
  }
}

/** The stat of every process that still runs (zombies and dead entries left out); null without /proc. */
export async function liveProcesses(): Promise<ProcStat[] | null> {
  const pids = await listPids();
  if (pids === null) return null;
  const stats = await Promise.all(pids.map((pid) => readStat(pid)));
  return stats.filter((s): s is ProcStat => s !== null && s.state !== 'Z' && s.state !== 'X');
}

/** Whether the process's environment (as it was at its last exec) holds `entry`, e.g. `NAME=value`. */
export async function environHas(pid: number, entry: string): Promise<boolean> {
  try {
    return (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0').includes(entry);
  } catch {
    return false;
  }
}

/**
 * Whether a process `pid` exists: signal 0 reaches it, or it belongs to another user (EPERM). A
 * pid file's owner is alive so; works without /proc too.
 */
export function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether `pid` still runs `argv`, not just any program under a reused pid. A `#!` script shows
 * its interpreter first, hence `argv` at offset 0 or 1 of the command line.
 */
export async function runsCommand(pid: number, argv: readonly string[]): Promise<boolean> {
  let cmdline: string[];
  try {
    cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
  } catch {
    return false;
  }
  if (cmdline.at(-1) === '') cmdline.pop(); // a zombie's cmdline is empty and never matches
  const offset = cmdline.length - argv.length;
  return (offset === 0 || offset === 1) && argv.every((arg, i) => cmdline[offset + i] === arg);
}

/** `root` and every process below it in the parent tree of `table`. */
export function descendantsOf(root: number, table: readonly ProcStat[]): Set<number> {
  const children = new Map<number, number[]>();
  for (const p of table) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  const found = new Set<number>([root]);
  const queue = [root];
  for (let pid = queue.pop(); pid !== undefined; pid = queue.pop()) {
    for (const child of children.get(pid) ?? []) {
      if (!found.has(child)) queue.push(child);
      found.add(child);
    }
  }
  return found;
}
