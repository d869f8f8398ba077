// A script runs as the leader of its own process group (spawned detached), so stopping it means
// signalling the whole group: children it started (a compiler, a test server, a stray `sleep`) go
// with it and nothing outlives the step.
import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';

const POLL_MS = 50;
/** How long to wait after SIGKILL for the kernel to finish the group off. */
const AFTER_KILL_MS = 2_000;

export interface StopReport {
  /** Some member was still running and got SIGTERM. */
  signalled: boolean;
  /** Some member outlived the grace period and got SIGKILL. */
  forced: boolean;
  /** Some member was still alive at the deadline (e.g. it left the group by setsid). */
  survivors: boolean;
}

export class ProcessGroup {
  readonly #pgid: number;
  readonly #graceMs: number;
  #stopping: Promise<StopReport> | null = null;

  constructor(pgid: number, graceMs: number) {
    this.#pgid = pgid;
    this.#graceMs = graceMs;
  }

  /** SIGTERM to every member, SIGKILL to any left after the grace; resolves when none is alive or the deadline passed. Idempotent. */
  stop(): Promise<StopReport> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<StopReport> {
    if (!(await this.#alive()) || !this.#send('SIGTERM')) return { signalled: false, forced: false, survivors: false };
    if (await this.#waitGone(this.#graceMs)) return { signalled: true, forced: false, survivors: false };
    this.#send('SIGKILL');
    const gone = await this.#waitGone(AFTER_KILL_MS);
    return { signalled: true, forced: true, survivors: !gone };
  }

  /** False when the group no longer exists. */
  #send(signal: NodeJS.Signals): boolean {
    try {
      process.kill(-this.#pgid, signal);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
      throw err;
    }
  }

  async #waitGone(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (!(await this.#alive())) return true;
      await delay(POLL_MS);
    }
    return !(await this.#alive());
  }

  /**
   * Whether a member still runs. Killed orphans are reparented to PID 1, and in a container that
   * init may reap them late: a zombie keeps the group id "in use" for kill(2) though it runs no
   * more. So on Linux the group's members are read from /proc and zombies do not count.
   */
  async #alive(): Promise<boolean> {
    const members = await liveMembers(this.#pgid);
    if (members !== null) return members > 0;
    try {
      process.kill(-this.#pgid, 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
  }
}

/** Running (non-zombie) processes in the group, or null where /proc cannot tell. */
async function liveMembers(pgid: number): Promise<number | null> {
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return null;
  }
  const states = await Promise.all(entries.filter((e) => /^\d+$/.test(e)).map((pid) => groupState(pid)));
  return states.filter((s) => s !== null && s.pgrp === pgid && s.state !== 'Z' && s.state !== 'X').length;
}

async function groupState(pid: string): Promise<{ state: string; pgrp: number } | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so split after the last ")".
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', pgrp: Number(fields[2]) };
  } catch {
    return null;
  }
}
