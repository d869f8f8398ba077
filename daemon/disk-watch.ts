// Free space where the daemon writes (root, logs, artifacts, checkouts, the store's folder), looked
// at as often as a pass runs: statfs per folder, a few syscalls. Low space is a status condition
// (DiskSpace, a problem in `hyperctl status`) before a write fails; crossing into low writes a
// DiskLow event and out of it DiskOk, one per file system, which the notifier turns into disk_low
// and recovered. The rule is doctor's too (common/disk-space.ts).
import type { Condition } from '../common/status.js';
import {
  describeSpace,
  describeThreshold,
  diskFix,
  isLow,
  measureSpace,
  thresholdBytes,
  type DiskThreshold,
  type FsSpace,
} from '../common/disk-space.js';
import type { NewEvent } from '../common/types.js';
import type { Config } from '../config/config.js';
import { writtenDirs } from '../config/disk.js';
import type { Loop } from '../reconciler/loop.js';
import { EventLog } from '../store/event-log.js';
import type { Store } from '../store/store.js';

/** Back to ok only with this much room above the line, so a disk at the line does not flap. */
const RECOVERY_MARGIN = 1.1;

export interface DiskWatchOptions {
  dirs: readonly string[];
  threshold: DiskThreshold;
  everyMs: number;
  /** Puts the DiskSpace condition into status. */
  report(condition: Omit<Condition, 'lastTransitionTime'>): void;
  /** Records DiskLow and DiskOk; never rejects (the loop's EventLog). */
  event(event: NewEvent): Promise<void>;
  log(line: string): void;
  /** @default statfs of each folder (measureSpace) */
  measure?: (dirs: readonly string[]) => Promise<FsSpace[]>;
}

export class DiskWatch {
  readonly #o: DiskWatchOptions;
  /** File systems (by the folder that names them) that are low now. */
  readonly #low = new Set<string>();
  #timer: NodeJS.Timeout | null = null;
  #checking: Promise<void> | null = null;
  #lastError: string | null = null;

  constructor(options: DiskWatchOptions) {
    this.#o = options;
  }

  /** Looks once (status has the condition from the first answer on), then every `everyMs`. */
  async start(): Promise<void> {
    await this.check();
    this.#timer = setInterval(() => void this.check(), this.#o.everyMs);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.#checking;
  }

  /** One look; calls while one runs share it. */
  check(): Promise<void> {
    this.#checking ??= this.#check().finally(() => (this.#checking = null));
    return this.#checking;
  }

  async #check(): Promise<void> {
    let spaces: FsSpace[];
    try {
      spaces = await (this.#o.measure ?? measureSpace)(this.#o.dirs);
    } catch (err) {
      this.#cannotMeasure(err as Error);
      return;
    }
    this.#lastError = null;
    // A file system that is no longer there (unmounted) has no state to carry.
    for (const gone of [...this.#low].filter((p) => !spaces.some((space) => space.path === p))) this.#low.delete(gone);
    for (const space of spaces) await this.#transition(space);
    this.#o.report(this.#condition(spaces));
  }

  async #transition(space: FsSpace): Promise<void> {
    const { threshold } = this.#o;
    const line = thresholdBytes(space, threshold);
    const data = { path: space.path, freeBytes: space.freeBytes, totalBytes: space.totalBytes, threshold: line };
    if (!this.#low.has(space.path) && isLow(space, threshold)) {
      this.#low.add(space.path);
      const message = `disk space low: ${describeSpace(space)}, below disk: ${describeThreshold(threshold)}`;
      this.#o.log(`hypervisor: ${message}; fix: ${diskFix(space.path)}`);
      await this.#o.event({ reason: 'DiskLow', message, data });
    } else if (this.#low.has(space.path) && space.freeBytes >= line * RECOVERY_MARGIN && space.freeInodes !== 0) {
      this.#low.delete(space.path);
      const message = `disk space ok again: ${describeSpace(space)}`;
      this.#o.log(`hypervisor: ${message}`);
      await this.#o.event({ reason: 'DiskOk', message, data });
    }
  }

  #condition(spaces: readonly FsSpace[]): Omit<Condition, 'lastTransitionTime'> {
    const low = spaces.filter((space) => this.#low.has(space.path));
    if (low.length === 0) {
      return { type: 'DiskSpace', status: 'True', reason: 'Ok', message: spaces.map(describeSpace).join('; ') };
    }
    const message =
      `${low.map(describeSpace).join('; ')}: below disk: ${describeThreshold(this.#o.threshold)}; ` +
      `writes there may fail (builds, logs, the store); fix: ${diskFix(low[0]!.path)}`;
    return { type: 'DiskSpace', status: 'False', reason: 'Low', message };
  }

  /** A folder that cannot be measured is said once per cause; the condition keeps its last value. */
  #cannotMeasure(err: Error): void {
    if (err.message === this.#lastError) return;
    this.#lastError = err.message;
    this.#o.log(`hypervisor: cannot measure free disk space: ${err.message}`);
  }
}

/** The daemon's watch: the folders it writes to, looked at as often as a pass runs (every health interval at least). */
export async function startDiskWatch(
  config: Config,
  reconciler: Pick<Loop, 'reportCondition'>,
  store: Pick<Store, 'appendEvent'>,
  log: (line: string) => void,
): Promise<DiskWatch> {
  const events = new EventLog(store, 'hypervisor');
  const watch = new DiskWatch({
    dirs: writtenDirs(config),
    threshold: config.disk,
    everyMs: Math.min(config.reconcile.intervalMs, config.app.health.intervalMs),
    report: (condition) => reconciler.reportCondition(condition),
    event: (event) => events.record(event),
    log,
  });
  await watch.start();
  return watch;
}
