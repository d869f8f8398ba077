// One color of the `process` driver: a tiny supervisor with systemd's semantics (Restart=on-failure,
// a start limit, states named like systemd's). Operations and automatic restarts run one at a time
// through a queue, so a stop never races a restart that is in flight.
import { appendFile } from 'node:fs/promises';
import { HypervisorError } from '../common/errors.js';
import { runsCommand } from '../common/proc-table.js';
import { type Color } from '../common/types.js';
import type { ActiveState, SubState } from '../common/unit-state.js';
import { type UnitObservation, type UnitSpec } from './driver.js';
import {
  settlesWithin,
  signalGroup,
  spawnBackend,
  watchPid,
  type ExitInfo,
  type WatchedProcess,
} from './process-watch.js';

/** What survives a daemon restart: `<stateDir>/<app>-<color>.json`. */
export interface SlotState {
  spec: UnitSpec;
  /** True after start/restart, false after stop: whether a dead process should be brought back. */
  wanted: boolean;
  nRestarts: number;
  /** The process we run, with the argv it was started with (to tell it from a reused pid). */
  running: { pid: number; argv: string[] } | null;
}

export interface SlotTiming {
  restartDelayMs: number;
  maxRestartDelayMs: number;
  startLimitBurst: number;
  startLimitIntervalMs: number;
  pollIntervalMs: number;
  stopTimeoutMs: number;
}

type Phase =
  | { kind: 'dead' }
  | { kind: 'starting' }
  | { kind: 'running'; proc: WatchedProcess }
  | { kind: 'auto-restart'; timer: NodeJS.Timeout }
  | { kind: 'stopping'; proc: WatchedProcess }
  | { kind: 'failed' };

/** After SIGKILL the kernel needs only moments; waiting longer means something is badly wrong. */
const KILL_GRACE_MS = 5_000;

export class ProcessSlot {
  readonly color: Color;
  #state: SlotState;
  #phase: Phase = { kind: 'dead' };
  #timing: SlotTiming;
  #persist: (state: SlotState) => Promise<void>;
  #writes: Promise<void> = Promise.resolve();
  #queue: Promise<unknown> = Promise.resolve();
  #startTimes: number[] = [];
  #closed = false;

  constructor(state: SlotState, timing: SlotTiming, persist: (state: SlotState) => Promise<void>) {
    this.color = state.spec.color;
    this.#state = structuredClone(state);
    this.#timing = timing;
    this.#persist = persist;
  }

  get spec(): UnitSpec {
    return this.#state.spec;
  }

  /** A new spec takes effect at the next (re)start, like a rewritten unit file. */
  setSpec(spec: UnitSpec): Promise<void> {
    return this.#serial(async () => {
      this.#state.spec = spec;
      await this.#save();
    });
  }

  observe(): Omit<UnitObservation, 'color' | 'installed' | 'loadState' | 'drift'> {
    const [activeState, subState, proc] = this.#describe();
    return { activeState, subState, mainPid: proc?.pid ?? null, nRestarts: this.#state.nRestarts };
  }

  /** Takes over what a previous daemon left: keeps watching a live process, or revives a dead one. */
  adopt(): Promise<void> {
    return this.#serial(async () => {
      const recorded = this.#state.running;
      if (recorded && (await runsCommand(recorded.pid, recorded.argv))) {
        this.#watch(watchPid(recorded.pid, recorded.argv, this.#timing.pollIntervalMs));
        return;
      }
      this.#state.running = null;
      // systemd would have restarted it while we were away; do it now.
      if (this.#state.wanted) this.#afterFailure();
      await this.#save();
    });
  }

  start(): Promise<void> {
    return this.#serial(async () => {
      if (this.#phase.kind === 'running' || this.#phase.kind === 'auto-restart') return;
      this.#state.wanted = true;
      this.#state.nRestarts = 0;
      this.#startTimes = [];
      await this.#spawn();
    });
  }

  stop(): Promise<void> {
    return this.#serial(async () => {
      this.#state.wanted = false;
      await this.#terminate();
      await this.#save();
    });
  }

  /** Also clears a failed state and the start limit, like `systemctl reset-failed` + `restart`. */
  restart(): Promise<void> {
    return this.#serial(async () => {
      this.#state.wanted = true;
      await this.#terminate();
      this.#state.nRestarts = 0;
      this.#startTimes = [];
      await this.#spawn();
    });
  }

  /** Stops supervising; the process keeps running. Resolves once pending state writes are done. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#phase.kind === 'auto-restart') clearTimeout(this.#phase.timer);
    if (this.#phase.kind === 'running') this.#phase.proc.release();
    await this.#queue.catch(() => undefined);
    await this.#writes;
  }

  /** The phase in systemd's words for the same situation, so both drivers read alike. */
  #describe(): [ActiveState, SubState, WatchedProcess | null] {
    const phase = this.#phase;
    switch (phase.kind) {
      case 'dead':
        return ['inactive', 'dead', null];
      case 'starting':
        return ['activating', 'start', null];
      case 'running':
        return ['active', 'running', phase.proc];
      case 'auto-restart':
        return ['activating', 'auto-restart', null];
      case 'stopping':
        return ['deactivating', 'stop-sigterm', phase.proc];
      case 'failed':
        return ['failed', 'failed', null];
    }
  }

  async #spawn(): Promise<void> {
    this.#phase = { kind: 'starting' };
    this.#startTimes.push(Date.now());
    try {
      this.#watch(await spawnBackend(this.#state.spec));
    } catch (err) {
      await this.#logLine(`cannot start ${this.#state.spec.executable}: ${(err as Error).message}`);
      this.#afterFailure();
    }
    await this.#save();
  }

  #watch(proc: WatchedProcess): void {
    this.#phase = { kind: 'running', proc };
    this.#state.running = { pid: proc.pid, argv: proc.argv };
    proc.exited.then(
      (info) => this.#onExit(proc, info),
      () => undefined,
    );
  }

  /** Runs outside the queue: it only moves the phase and, maybe, arms the restart timer. */
  #onExit(proc: WatchedProcess, info: ExitInfo): void {
    if (this.#closed || this.#phase.kind !== 'running' || this.#phase.proc !== proc) return;
    this.#state.running = null;
    if (!info.clean && this.#state.wanted) {
      void this.#logLine(`pid ${proc.pid} ${info.description}; restarting`);
      this.#afterFailure();
    } else {
      this.#phase = { kind: 'dead' };
    }
    void this.#save().catch(() => undefined); // the next operation writes the state again
  }

  /** Schedules an automatic restart with exponential backoff, or gives up at the start limit. */
  #afterFailure(): void {
    const now = Date.now();
    this.#startTimes = this.#startTimes.filter((t) => now - t < this.#timing.startLimitIntervalMs);
    if (this.#startTimes.length >= this.#timing.startLimitBurst) {
      this.#phase = { kind: 'failed' };
      void this.#logLine(`start limit hit (${this.#timing.startLimitBurst} starts); giving up until restarted`);
      return;
    }
    const exponent = Math.max(0, this.#startTimes.length - 1);
    const wait = Math.min(this.#timing.restartDelayMs * 2 ** exponent, this.#timing.maxRestartDelayMs);
    const timer = setTimeout(() => void this.#serial(() => this.#autoRestart()).catch(() => undefined), wait);
    timer.unref();
    this.#phase = { kind: 'auto-restart', timer };
  }

  async #autoRestart(): Promise<void> {
    if (this.#closed || this.#phase.kind !== 'auto-restart') return;
    this.#state.nRestarts += 1;
    await this.#spawn();
  }

  /** SIGTERM to the group, SIGKILL after stopTimeoutMs; ends in `dead`. */
  async #terminate(): Promise<void> {
    const phase = this.#phase;
    if (phase.kind === 'auto-restart') clearTimeout(phase.timer);
    if (phase.kind === 'running') {
      this.#phase = { kind: 'stopping', proc: phase.proc };
      signalGroup(phase.proc.pid, 'SIGTERM');
      if (!(await settlesWithin(phase.proc.exited, this.#timing.stopTimeoutMs))) {
        signalGroup(phase.proc.pid, 'SIGKILL');
        if (!(await settlesWithin(phase.proc.exited, KILL_GRACE_MS))) {
          throw new HypervisorError(
            'stop_failed',
            `pid ${phase.proc.pid} of the ${this.color} backend survived SIGKILL`,
          );
        }
      }
    }
    this.#phase = { kind: 'dead' };
    this.#state.running = null;
  }

  /** Writes happen in order; a write after close() is skipped so uninstall can remove the file. */
  #save(): Promise<void> {
    const snapshot = structuredClone(this.#state);
    const write = this.#writes.then(() => (this.#closed ? undefined : this.#persist(snapshot)));
    this.#writes = write.catch(() => undefined);
    return write;
  }

  /** Supervisor notes go into the backend's log, where an operator looks first. */
  async #logLine(message: string): Promise<void> {
    const line = `[hypervisor ${new Date().toISOString()}] ${this.color}: ${message}\n`;
    await appendFile(this.#state.spec.logFile, line).catch(() => undefined);
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(() => {
      if (this.#closed) throw new HypervisorError('closed', `the ${this.color} supervisor is closed`);
      return fn();
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
