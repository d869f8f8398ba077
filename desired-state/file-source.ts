// The desired file as a two-way source (config `desired.file`), like the config repo. Every new
// revision, whatever its source, is written to the file atomically under a header naming it; an
// operator's edit is applied as the change from the revision that header names, so the fields it
// did not touch keep their current values and an edit never undoes what the API wrote meanwhile.
// One sync at a time reads the file whole (level-triggered: what counts is its content now, not
// which event fired), applies an edit if it holds one, and writes the latest revision back. A file
// over FILE_CAPS.desired is refused from its size alone, before a byte of it is read.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { isNotFound, writeFileAtomic } from '../common/atomic-write.js';
import { readCappedText } from '../common/capped-read.js';
import { ValidationError, WouldStopTrafficError } from '../common/errors.js';
import { FILE_CAPS } from '../common/limits.js';
import type { Revision } from '../common/types.js';
import { mergeEdit } from './document.js';
import { baseRevision, renderDesiredFile } from './file-text.js';
import { FileWatch } from './file-watch.js';
import type { ApplyResult, DesiredStateService } from './revisions.js';
import { parseDesiredInput } from './yaml.js';

/** What the file source needs from the service. */
export type DesiredFileService = Pick<
  DesiredStateService,
  'apply' | 'update' | 'current' | 'revision' | 'onChange' | 'tagPattern'
>;

export interface FileSourceContext {
  file: string;
}

export interface FileSourceOptions {
  /** The desired YAML file; it may not exist yet (it is written once there is a revision). */
  file: string;
  service: DesiredFileService;
  /** Told why an edit was refused (syntax, validation, an unconfirmed outage, I/O, store). Also kept as `lastError`. */
  onError?: (err: Error, context: FileSourceContext) => void;
  /**
   * Told after an edit was accepted (a new revision or none needed), or once a refused edit is gone: clears
   * an error.
   */
  onRead?: (read: FileSourceRead) => void;
  /** Told why a revision could not be written to the file (the revision stands), once per distinct reason. */
  onWriteError?: (err: Error, context: FileSourceContext) => void;
  /** How long the file's size must stay the same before it is read. @default 100 */
  stabilityThresholdMs?: number;
  /** Deadline for the watcher to become ready in start(). @default 10000 */
  readyTimeoutMs?: number;
}

export interface FileSourceError {
  message: string;
  error: Error;
  /** ISO-8601 time of the refused read. */
  time: string;
}

export interface FileSourceRead {
  /** The revision the file's content is at (new or, for an edit that changed nothing, the existing one). */
  revision: number;
  changed: boolean;
  time: string;
}

export class DesiredFileSource {
  readonly file: string;
  readonly #service: DesiredFileService;
  readonly #options: FileSourceOptions;
  readonly #watch: FileWatch;
  #unsubscribe: (() => void) | null = null;
  #started = false;
  /** The sync at start is done: from now on a file without a header is an edit, never a leftover. */
  #caughtUp = false;
  #closed = false;
  #reading: Promise<void> | null = null;
  #readAgain = false;
  #lastError: FileSourceError | null = null;
  #lastWriteError: string | null = null;
  #lastRead: FileSourceRead | null = null;
  /** Text the file held that is no edit: what this source wrote, or an edit already applied. */
  #known: string | null = null;
  /** An edit that was refused: left in the file for its author to fix, and not applied again. */
  #refused: string | null = null;

  constructor(options: FileSourceOptions) {
    if (typeof options.file !== 'string' || options.file.length === 0) {
      throw new TypeError(`file must be a non-empty path, got ${JSON.stringify(options.file)}`);
    }
    this.file = path.resolve(options.file);
    this.#service = options.service;
    this.#options = options;
    this.#watch = new FileWatch({
      file: this.file,
      onChange: () => this.#trigger(),
      onError: (err) => this.#report(err),
      stabilityThresholdMs: positive('stabilityThresholdMs', options.stabilityThresholdMs ?? 100),
      readyTimeoutMs: positive('readyTimeoutMs', options.readyTimeoutMs ?? 10_000),
    });
  }

  /** Why the last edit was refused; null once the file holds no refused edit. For status. */
  get lastError(): FileSourceError | null {
    return this.#lastError;
  }

  /** The last accepted edit. */
  get lastRead(): FileSourceRead | null {
    return this.#lastRead;
  }

  /** Starts watching; resolves once the watcher is ready and the file is in sync with the latest revision. */
  async start(): Promise<void> {
    if (this.#started || this.#closed)
      throw new Error(`desired file source for ${this.file} was already started or closed`);
    this.#started = true;
    await this.#watch.start();
    // Every revision of this process, whatever its source, is written to the file.
    this.#unsubscribe = this.#service.onChange(() => this.#trigger());
    await this.sync();
    this.#caughtUp = true;
    this.#watch.startPolling();
  }

  /** Reads the file now (applying an edit it holds) and writes the latest revision back; resolves when done. */
  async sync(): Promise<void> {
    this.#trigger();
    while (this.#reading) await this.#reading;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#unsubscribe?.();
    await this.#watch.close();
    // A sync in flight finishes first, so the caller may close the store right after.
    while (this.#reading) await this.#reading;
  }

  /** Coalesces triggers: one sync at a time, and one more after it if anything fired meanwhile. */
  #trigger(): void {
    if (this.#closed) return;
    if (this.#reading) {
      this.#readAgain = true;
      return;
    }
    this.#reading = this.#syncLoop().finally(() => {
      this.#reading = null;
    });
  }

  async #syncLoop(): Promise<void> {
    do {
      this.#readAgain = false;
      await this.#syncOnce();
    } while (this.#readAgain && !this.#closed);
  }

  async #syncOnce(): Promise<void> {
    let text: string | null;
    try {
      await this.#watch.seen();
      text = await readCappedText(this.file, FILE_CAPS.desired, 'desired file').catch((err: unknown) => {
        // The file may not exist yet, or be gone: the write-back below puts the latest revision there.
        if (isNotFound(err)) return null;
        throw err;
      });
    } catch (err) {
      this.#report(toError(err));
      return;
    }
    // A refused edit stays for its author to fix: overwriting it would throw their work away.
    if (text !== null && text === this.#refused) return;
    if (text !== null && text !== this.#known) {
      if (!(await this.#applyEdit(text))) return;
    } else if (this.#lastError !== null) {
      // The refused edit is gone (undone by hand): the file is fine again.
      this.#refused = null;
      const latest = await this.#service.current().catch(() => null);
      if (latest) this.#accepted({ revision: latest, changed: false });
    }
    await this.#writeBack(text);
  }

  async #applyEdit(text: string): Promise<boolean> {
    try {
      this.#accepted(await this.#applyText(text));
      this.#known = text;
      this.#refused = null;
      return true;
    } catch (err) {
      // A refused document stays refused until it is edited again; anything else (the store) is retried.
      if (err instanceof ValidationError || err instanceof WouldStopTrafficError) this.#refused = text;
      this.#report(toError(err));
      return false;
    }
  }

  /** A file with a header is applied as the change from the revision it names; one without, whole. */
  async #applyText(text: string): Promise<ApplyResult> {
    const { doc, allowOutage } = parseDesiredInput(text, this.#service.tagPattern);
    const meta = { source: 'file', author: `file:${this.file}`, allowOutage };
    const number = baseRevision(text);
    const base = number === null ? null : await this.#service.revision(number);
    if (base) return this.#service.update((latest) => mergeEdit(base.doc, doc, latest), meta);
    const latest = number === null && !this.#caughtUp ? await this.#service.current() : null;
    if (latest && (await this.#predates(latest))) return { revision: latest, changed: false };
    return this.#service.apply(doc, meta);
  }

  /**
   * A file without a header at start, last changed before the newest revision from another source,
   * was written before the file was kept in sync (an older version of the hypervisor): applying it
   * whole would undo that revision. It is overwritten with the latest revision instead.
   */
  async #predates(latest: Revision): Promise<boolean> {
    if (latest.source === 'file') return false;
    const { mtimeMs } = await stat(this.file);
    return Date.parse(latest.time) > mtimeMs;
  }

  /** Writes the latest revision unless the file holds it; an edit saved since `seen` was read is applied first. */
  async #writeBack(seen: string | null): Promise<void> {
    try {
      const latest = await this.#service.current();
      if (latest === null) return;
      const text = renderDesiredFile(latest);
      if (text !== seen) {
        const mode = await stat(this.file).then(
          (s) => s.mode & 0o777,
          () => 0o644,
        );
        if ((await writeFileAtomic(this.file, text, { mode, expected: seen })).stale) {
          // An edit was saved since this sync read the file: the next round applies it first.
          this.#readAgain = true;
          return;
        }
        await this.#watch.seen();
      }
      this.#known = text;
      this.#lastWriteError = null;
    } catch (err) {
      const error = toError(err);
      if (error.message === this.#lastWriteError) return;
      this.#lastWriteError = error.message;
      this.#options.onWriteError?.(error, { file: this.file });
    }
  }

  #accepted(result: ApplyResult): void {
    this.#lastRead = { revision: result.revision.number, changed: result.changed, time: new Date().toISOString() };
    this.#lastError = null;
    this.#options.onRead?.(this.#lastRead);
  }

  #report(error: Error): void {
    this.#lastError = { message: error.message, error, time: new Date().toISOString() };
    try {
      this.#options.onError?.(error, { file: this.file });
    } catch (err) {
      // A bug in the caller's handler must not stop the watcher; the reason is kept in lastError.
      process.emitWarning(
        `desired file source onError handler failed: ${toError(err).message}`,
        'DesiredFileSourceWarning',
      );
    }
  }
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0)
    throw new RangeError(`${name} must be a positive number of ms, got ${value}`);
  return value;
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
