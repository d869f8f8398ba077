// Stopping a set of processes: SIGTERM to every member, SIGKILL to those left after a grace period,
// then wait until none runs. The set is a process group (a script runs as the leader of its own,
// so its children go with it), or whatever processes match a test, which also reaches processes
// that left the group (setsid) or lost their parent (a daemon killed by SIGKILL).
import { setTimeout as delay } from 'node:timers/promises';
import { liveProcesses, type ProcStat } from './proc-table.js';

const POLL_MS = 50;
/** How long to wait after SIGKILL for the kernel to finish the processes off. */
const AFTER_KILL_MS = 2_000;

export interface StopReport {
  /** Some member was still running and got SIGTERM. */
  signalled: boolean;
  /** Some member outlived the grace period and got SIGKILL. */
  forced: boolean;
  /** Some member was still alive at the deadline (e.g. it left the group by setsid). */
  survivors: boolean;
}

export const NOTHING_STOPPED: StopReport = { signalled: false, forced: false, survivors: false };

/** A set of processes that can be signalled as one. */
export interface ProcessSet {
  /** Whether a member still runs (zombies do not count). */
  alive(): Promise<boolean>;
  /** Sends `signal` to every member; false when there was none. */
  send(signal: NodeJS.Signals): Promise<boolean>;
}

/** SIGTERM, SIGKILL after `graceMs`; resolves when no member runs or the deadline passed. */
export async function stopProcesses(set: ProcessSet, graceMs: number): Promise<StopReport> {
  if (!(await set.alive()) || !(await set.send('SIGTERM'))) return NOTHING_STOPPED;
  if (await waitGone(set, graceMs)) return { signalled: true, forced: false, survivors: false };
  await set.send('SIGKILL');
  const gone = await waitGone(set, AFTER_KILL_MS);
  return { signalled: true, forced: true, survivors: !gone };
}

async function waitGone(set: ProcessSet, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!(await set.alive())) return true;
    await delay(POLL_MS);
  }
  return !(await set.alive());
}

/** The process group `pgid`: signalled through kill(-pgid), so a member forked a moment ago gets it too. */
export function processGroup(pgid: number): ProcessSet {
  return {
    alive: async () => {
      // Killed orphans are reparented to PID 1, and in a container that init may reap them late: a
      // zombie keeps the group id "in use" for kill(2) though it runs no more. So on Linux the
      // members are read from /proc, and zombies do not count.
      const table = await liveProcesses();
      if (table !== null) return table.some((p) => p.pgrp === pgid);
      return signal(-pgid, 0) !== 'gone';
    },
    send: async (sig) => signal(-pgid, sig) === 'sent',
  };
}

/** Every running process for which `test` holds, looked up again at each step. */
export function processesWhere(test: (p: ProcStat) => Promise<boolean>): ProcessSet {
  const members = async (): Promise<number[]> => {
    const table = (await liveProcesses()) ?? [];
    const verdicts = await Promise.all(table.map((p) => test(p)));
    return table.filter((_, i) => verdicts[i]).map((p) => p.pid);
  };
  return {
    alive: async () => (await members()).length > 0,
    send: async (sig) => (await members()).map((pid) => signal(pid, sig)).includes('sent'),
  };
}

/** Stops a process group once: a timeout, a cancellation and the leader's exit may all ask. */
export class ProcessGroup {
  readonly #set: ProcessSet;
  readonly #graceMs: number;
  #stopping: Promise<StopReport> | null = null;

  constructor(pgid: number, graceMs: number) {
    this.#set = processGroup(pgid);
    this.#graceMs = graceMs;
  }

  /** Idempotent: every call resolves with the report of the first. */
  stop(): Promise<StopReport> {
    this.#stopping ??= stopProcesses(this.#set, this.#graceMs);
    return this.#stopping;
  }
}

function signal(target: number, sig: NodeJS.Signals | 0): 'sent' | 'gone' | 'denied' {
  try {
    process.kill(target, sig);
    return 'sent';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') return 'gone';
    if (code === 'EPERM') return 'denied';
    throw err;
  }
}
