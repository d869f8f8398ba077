// The archive's own queue: one upload at a time, apart from builds and the loop, which only ever
// hand it a name and go on. It is bounded (a name that does not fit stays pending in the store, where
// the next sweep finds it), and it is where failed uploads are retried: each object waits its own
// backoff (1 s, 2 s, 4 s ... up to retryMaxMs), so one that cannot be read holds up no other.
import type { ArchiveObject, ArchiveOutcome } from '../common/archive.js';
import type { NewEvent } from '../common/types.js';
import type { ArchiveRecords } from '../store/archive-records.js';
import { s3Url } from './names.js';
import { describeS3Error, type ObjectTarget } from './s3-target.js';
import { SourceMissingError, type Prepared } from './sources.js';

export interface UploaderOptions {
  records: ArchiveRecords;
  target: ObjectTarget;
  sources: { prepare(object: ArchiveObject): Promise<Prepared> };
  event(event: NewEvent): Promise<void>;
  /** Called after each attempt, whatever its outcome (the status condition follows it). */
  changed(): void;
  /** Names held in memory at once. @default 256 */
  capacity?: number;
  /** The first retry's delay; each further one doubles it. @default 1_000 */
  retryBaseMs?: number;
  /** @default 30_000 */
  retryMaxMs?: number;
  /** One upload's deadline, HEAD check included. @default 600_000 */
  attemptTimeoutMs?: number;
}

export interface UploadFailure {
  name: string;
  /** Failed attempts of its current generation. */
  attempts: number;
  error: string;
  /** When it is tried again (epoch ms). */
  nextAt: number;
}

export class Uploader {
  readonly #o: Required<UploaderOptions>;
  /** Names to upload and when (epoch ms); insertion order breaks ties. */
  readonly #due = new Map<string, number>();
  readonly #failing = new Map<string, UploadFailure>();
  readonly #abort = new AbortController();
  #current: string | null = null;
  #running: Promise<void> | null = null;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  #uploaded = 0;

  constructor(options: UploaderOptions) {
    this.#o = { capacity: 256, retryBaseMs: 1_000, retryMaxMs: 30_000, attemptTimeoutMs: 600_000, ...options };
    for (const key of ['capacity', 'retryBaseMs', 'retryMaxMs', 'attemptTimeoutMs'] as const) {
      const value = this.#o[key];
      if (!Number.isSafeInteger(value) || value < 1)
        throw new RangeError(`${key} must be a positive integer, got ${value}`);
    }
  }

  /**
   * Uploads `name` as soon as it can (a backoff it waited out is cut short: a new generation may fix
   * what failed). False when the queue is full: the record stays pending for the next sweep.
   */
  offer(name: string): boolean {
    if (this.#closed) return false;
    if (!this.#due.has(name) && this.#due.size >= this.#o.capacity) return false;
    this.#due.set(name, Date.now());
    this.#kick();
    return true;
  }

  /** Whether `name` is queued or uploading (a sweep then leaves it and its backoff alone). */
  has(name: string): boolean {
    return this.#due.has(name) || this.#current === name;
  }

  get waiting(): number {
    return this.#due.size + (this.#current === null ? 0 : 1);
  }

  get uploaded(): number {
    return this.#uploaded;
  }

  /** Objects whose last attempt failed, the most recent failure first. */
  failures(): UploadFailure[] {
    return [...this.#failing.values()].reverse();
  }

  /** Stops: an upload under way is aborted and stays pending in the store for the next start. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#abort.abort(new Error('the archive is closing'));
    await this.#running;
  }

  #kick(): void {
    if (this.#closed || this.#running) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    let next: [string, number] | null = null;
    for (const entry of this.#due) if (next === null || entry[1] < next[1]) next = entry;
    if (next === null) return;
    const wait = next[1] - Date.now();
    if (wait > 0) {
      this.#timer = setTimeout(() => this.#kick(), wait);
      this.#timer.unref();
      return;
    }
    const name = next[0];
    this.#due.delete(name);
    this.#current = name;
    this.#running = this.#attempt(name).finally(() => {
      this.#current = null;
      this.#running = null;
      this.#o.changed();
      this.#kick();
    });
  }

  async #attempt(name: string): Promise<void> {
    let object: ArchiveObject | null = null;
    try {
      object = await this.#o.records.get(name);
      if (object?.state !== 'pending') return this.#forget(name);
      await this.#upload(object);
    } catch (err) {
      if (this.#closed) return;
      if (err instanceof SourceMissingError && object) return await this.#missing(object, err);
      await this.#failed(name, object, describeS3Error(err));
    }
  }

  async #upload(object: ArchiveObject): Promise<void> {
    const signal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#o.attemptTimeoutMs)]);
    const prepared = await this.#o.sources.prepare(object);
    try {
      const location = await this.#o.target.put(object.name, prepared, signal);
      const { sha256, size } = prepared;
      const stored = await this.#settle(object, { state: 'uploaded', location, sha256, size });
      const earlier = this.#failing.get(object.name);
      this.#forget(object.name);
      this.#uploaded += 1;
      if (!stored) return;
      const after = earlier ? ` after ${earlier.attempts} failed attempt(s)` : '';
      await this.#event({
        reason: 'ArchiveUploaded',
        message:
          `archived ${object.name} (${size} bytes, sha256 ${sha256}) to ` +
          `${s3Url(location.bucket, location.key)}${after}`,
        data: { name: object.name, sha256, size, bucket: location.bucket, key: location.key },
      });
    } finally {
      await prepared.discard();
    }
  }

  async #missing(object: ArchiveObject, err: SourceMissingError): Promise<void> {
    await this.#settle(object, { state: 'missing', error: err.message }).catch(() => null);
    this.#forget(object.name);
    await this.#event({
      reason: 'ArchiveSourceMissing',
      message: `${object.name} cannot be archived: ${err.message}`,
      data: { name: object.name, source: object.source },
    });
  }

  async #failed(name: string, object: ArchiveObject | null, error: string): Promise<void> {
    const earlier = this.#failing.get(name);
    // A store that cannot count the attempt (it is down too) is counted here, in memory.
    const stored = object && (await this.#settle(object, { state: 'failed', error }).catch(() => null));
    const attempts = stored?.attempts ?? (earlier?.attempts ?? object?.attempts ?? 0) + 1;
    const delay = Math.min(this.#o.retryMaxMs, this.#o.retryBaseMs * 2 ** Math.min(attempts - 1, 30));
    const nextAt = Date.now() + delay;
    this.#failing.delete(name);
    this.#failing.set(name, { name, attempts, error, nextAt });
    // A newer generation offered meanwhile keeps its place; otherwise this one waits out its backoff.
    if (!this.#due.has(name)) this.#due.set(name, nextAt);
    if (earlier) return;
    await this.#event({
      reason: 'ArchiveUploadFailing',
      message: `${name} could not be uploaded to ${this.#o.target.where}: ${error}; retrying with backoff`,
      data: { name, error },
    });
  }

  #settle(object: ArchiveObject, outcome: ArchiveOutcome): Promise<ArchiveObject | null> {
    return this.#o.records.settle(object.name, object.generation, outcome);
  }

  #forget(name: string): void {
    this.#failing.delete(name);
  }

  async #event(event: NewEvent): Promise<void> {
    await this.#o.event({ actor: 'archive', ...event }).catch((err: unknown) => {
      console.error(`hypervisor: archive: could not record an event: ${(err as Error).message}`);
    });
  }
}
