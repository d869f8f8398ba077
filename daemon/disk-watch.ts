// Free space under <root> (checkouts, artifacts, logs, the embedded store), looked at every minute.
// Crossing into low writes a DiskLow event, and out of it DiskOk: the trail says when, and the
// notifier turns them into disk_low and recovered. The rule is doctor's (common/disk-space.ts).
import { statfs } from 'node:fs/promises';
import { describeSpace, isClearlyOk, isLow, type DiskSpace } from '../common/disk-space.js';
import type { Store } from '../store/store.js';

export interface DiskWatchOptions {
  dir: string;
  store: Pick<Store, 'appendEvent'>;
  /** @default statfs of `dir` */
  measure?: (dir: string) => Promise<DiskSpace>;
  /** @default 60s */
  everyMs?: number;
  log?: (line: string) => void;
}

export class DiskWatch {
  readonly #o: DiskWatchOptions;
  readonly #measure: (dir: string) => Promise<DiskSpace>;
  #low = false;
  #timer: NodeJS.Timeout | null = null;
  #checking: Promise<void> | null = null;

  constructor(options: DiskWatchOptions) {
    this.#o = options;
    this.#measure = options.measure ?? measureStatfs;
  }

  start(): void {
    this.#timer = setInterval(() => void this.check(), this.#o.everyMs ?? 60_000);
    this.#timer.unref();
    void this.check();
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.#checking;
  }

  /** One look; one at a time. */
  check(): Promise<void> {
    this.#checking ??= this.#check().finally(() => (this.#checking = null));
    return this.#checking;
  }

  async #check(): Promise<void> {
    try {
      const space = await this.#measure(this.#o.dir);
      if (!this.#low && isLow(space)) await this.#event('DiskLow', space, 'low');
      else if (this.#low && isClearlyOk(space)) await this.#event('DiskOk', space, 'ok again');
    } catch (err) {
      (this.#o.log ?? console.error)(`hypervisor: disk watch: ${(err as Error).message}`);
    }
  }

  async #event(reason: string, space: DiskSpace, what: string): Promise<void> {
    await this.#o.store.appendEvent({
      reason,
      actor: 'hypervisor',
      message: `disk space ${what}: ${describeSpace(space, this.#o.dir)}`,
      data: { path: this.#o.dir, free: space.free, total: space.total },
    });
    this.#low = reason === 'DiskLow';
  }
}

async function measureStatfs(dir: string): Promise<DiskSpace> {
  const fs = await statfs(dir);
  return { free: fs.bavail * fs.bsize, total: fs.blocks * fs.bsize };
}
