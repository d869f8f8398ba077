// The log archive (README, "Log archive"): every finished step's log, and every day of GitHub
// deliveries and of the deployment ledger, go to a bucket, each recorded in the store with its
// SHA-256 once it is there. Steps hand it a log and go on; its own bounded queue uploads and retries
// (uploader.ts); a sweep every minute picks up what a restart or a full queue left pending and queues
// the days that ended. Retention asks it whether a log may go, and the logs route reads logs back.
import path from 'node:path';
import {
  ArchiveUnavailableError,
  type ArchivedLog,
  type ArchivedLogs,
  type NewArchiveObject,
  type StepLogSink,
} from '../common/archive.js';
import type { Condition } from '../common/status.js';
import type { NewEvent } from '../common/types.js';
import type { S3ArchiveConfig } from '../config/archive.js';
import type { ArchiveRecords } from '../store/archive-records.js';
import { readS3Credentials } from './credentials.js';
import { dueDays } from './daily.js';
import { DAILY_KINDS, dayName, logName, s3Url } from './names.js';
import { describeS3Error, S3Target, type ObjectTarget } from './s3-target.js';
import { hashFile, Sources } from './sources.js';
import { Uploader, type UploaderOptions } from './uploader.js';
import { verifiedRead } from './verified-read.js';

export type ArchiveCondition = Omit<Condition, 'lastTransitionTime'>;

export interface LogArchiveOptions {
  config: S3ArchiveConfig;
  /** `<root>`: copies being uploaded live in `<root>/archive/tmp`. */
  root: string;
  store: { archive: ArchiveRecords; appendEvent(event: NewEvent): Promise<unknown> };
  /** How its events are written. @default store.appendEvent */
  event?: (event: NewEvent) => Promise<void>;
  /** The bucket; by default the S3 store the config names, with the keys its files hold. */
  target?: ObjectTarget;
  /** The clock the daily exports count days by. @default Date.now */
  now?: () => number;
  /** @default 60_000 */
  sweepIntervalMs?: number;
  retry?: Pick<UploaderOptions, 'capacity' | 'retryBaseMs' | 'retryMaxMs' | 'attemptTimeoutMs'>;
}

export class LogArchive implements StepLogSink, ArchivedLogs {
  readonly #records: ArchiveRecords;
  readonly #target: ObjectTarget;
  readonly #sources: Sources;
  readonly #uploader: Uploader;
  readonly #now: () => number;
  /** Names the store could not take yet (it failed): queued again by the next sweep. */
  readonly #unrecorded = new Map<string, { entry: NewArchiveObject; error: string }>();
  readonly #listeners = new Set<(condition: ArchiveCondition) => void>();
  #shown = '';
  #sweeping: Promise<void> | null = null;
  #timer: NodeJS.Timeout | null = null;

  private constructor(options: LogArchiveOptions, target: ObjectTarget) {
    this.#records = options.store.archive;
    this.#target = target;
    this.#now = options.now ?? Date.now;
    this.#sources = new Sources(path.join(options.root, 'archive', 'tmp'), this.#records);
    this.#uploader = new Uploader({
      ...options.retry,
      records: this.#records,
      target,
      sources: this.#sources,
      event: options.event ?? (async (event) => void (await options.store.appendEvent(event))),
      changed: () => this.#changed(),
    });
  }

  /** Reads the key files (a bad one stops the daemon), clears old copies and starts sweeping. */
  static async start(options: LogArchiveOptions): Promise<LogArchive> {
    const target = options.target ?? new S3Target(options.config, await readS3Credentials(options.config));
    const archive = new LogArchive(options, target);
    try {
      await archive.#sources.reset();
    } catch (err) {
      target.close();
      throw err;
    }
    void archive.sweep();
    const every = options.sweepIntervalMs ?? 60_000;
    archive.#timer = setInterval(() => void archive.sweep(), every);
    archive.#timer.unref();
    return archive;
  }

  get where(): string {
    return this.#target.where;
  }

  stepEnded(tag: string, step: string, file: string): void {
    let name: string;
    try {
      name = logName(tag, step);
    } catch (err) {
      console.error(`hypervisor: archive: not archiving ${file}: ${(err as Error).message}`);
      return;
    }
    void this.#queue({ name, kind: 'log', source: file });
  }

  async holds(tag: string, step: string, file: string): Promise<boolean> {
    const object = await this.#records.get(logName(tag, step));
    if (object?.state !== 'uploaded' || object.sha256 === null) return false;
    return (await sha256Of(file)) === object.sha256;
  }

  async open(tag: string, step: string): Promise<ArchivedLog | null> {
    const object = await this.#records.get(logName(tag, step));
    if (object?.state !== 'uploaded' || !object.location || object.sha256 === null || object.size === null) return null;
    const where = s3Url(object.location.bucket, object.location.key);
    try {
      const fetched = await this.#target.get(object.location);
      return { body: verifiedRead(fetched.body, object.sha256, where), location: where, ...pick(object) };
    } catch (err) {
      throw new ArchiveUnavailableError(`cannot read ${where}: ${describeS3Error(err)}`, { cause: err });
    }
  }

  /** The status condition `Archived`: False with the cause while anything fails to upload. */
  condition(): ArchiveCondition {
    const failing = this.#uploader.failures();
    const unrecorded = [...this.#unrecorded.values()];
    if (failing.length > 0 || unrecorded.length > 0) {
      const first = failing[0];
      const cause = first
        ? `${first.name}: ${first.error} (attempt ${first.attempts}, ` +
          `next try at ${new Date(first.nextAt).toISOString()})`
        : `${unrecorded[0]!.entry.name} could not be recorded in the store: ${unrecorded[0]!.error}`;
      const count = failing.length + unrecorded.length;
      return {
        type: 'Archived',
        status: 'False',
        reason: 'UploadFailing',
        message: `${count} object(s) not archived to ${this.where}, retrying; ${cause}`,
      };
    }
    const waiting = this.#uploader.waiting;
    return {
      type: 'Archived',
      status: 'True',
      reason: waiting > 0 ? 'Uploading' : 'UpToDate',
      message: `${this.#uploader.uploaded} object(s) archived to ${this.where} since start, ${waiting} waiting`,
    };
  }

  /** Called with the condition each time it changes; returns an unsubscribe. */
  onConditionChange(listener: (condition: ArchiveCondition) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Offers what is pending in the store and queues the days that ended; calls during one share it. */
  sweep(): Promise<void> {
    this.#sweeping ??= this.#sweep()
      .catch((err: unknown) => console.error(`hypervisor: archive: sweep failed: ${(err as Error).message}`))
      .finally(() => (this.#sweeping = null));
    return this.#sweeping;
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.#sweeping;
    await this.#uploader.close();
    this.#target.close();
  }

  async #sweep(): Promise<void> {
    for (const { entry } of [...this.#unrecorded.values()]) await this.#queue(entry);
    for (const object of await this.#records.list({ state: 'pending' }, 1000)) {
      if (!this.#uploader.has(object.name)) this.#uploader.offer(object.name);
    }
    for (const kind of DAILY_KINDS) {
      for (const day of await dueDays(this.#records, kind, this.#now())) {
        await this.#queue({ name: dayName(kind, day), kind, source: day });
      }
    }
  }

  async #queue(entry: NewArchiveObject): Promise<void> {
    try {
      await this.#records.queue(entry);
      this.#unrecorded.delete(entry.name);
    } catch (err) {
      this.#unrecorded.set(entry.name, { entry, error: (err as Error).message });
      this.#changed();
      return;
    }
    this.#uploader.offer(entry.name);
    this.#changed();
  }

  #changed(): void {
    const condition = this.condition();
    const shown = `${condition.status} ${condition.reason} ${condition.message}`;
    if (shown === this.#shown) return;
    this.#shown = shown;
    for (const listener of [...this.#listeners]) listener(condition);
  }
}

function pick(object: { sha256: string | null; size: number | null }): { sha256: string; size: number } {
  return { sha256: object.sha256!, size: object.size! };
}

async function sha256Of(file: string): Promise<string | null> {
  try {
    return (await hashFile(file)).sha256;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
