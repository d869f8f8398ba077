// The desired file as a source (config `desired.file`): an operator edits a YAML file on the host
// and each valid edit becomes a revision. The file is read whole on every event (level-triggered):
// what counts is its content now, not which event fired, so bursts of events cost one extra read.
// A file over FILE_CAPS.desired is refused from its size alone, before a byte of it is read.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { readCappedText } from '../common/capped-read.js';
import { FILE_CAPS } from '../common/limits.js';
import { type ApplyResult, type DesiredStateService } from './revisions.js';
import { parseDesiredYaml } from './yaml.js';

/** What the file source needs from the service. */
/** How often the file is stat()ed in case a watcher event was missed. */
const STAT_POLL_MS = 500;

export type DesiredApplier = Pick<DesiredStateService, 'apply' | 'current' | 'tagPattern'>;

export interface FileSourceContext {
  file: string;
}

export interface FileSourceOptions {
  /** The desired YAML file; it may not exist yet (it is picked up when created). */
  file: string;
  service: DesiredApplier;
  /** Told why a read was refused (syntax, validation, I/O, store). Also kept as `lastError`. */
  onError?: (err: Error, context: FileSourceContext) => void;
  /** Told after each read that was accepted (a new revision or an identical one): clears a reported error. */
  onRead?: (read: FileSourceRead) => void;
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
  /** The revision the file's content is at (new or, for an identical rewrite, the existing one). */
  revision: number;
  changed: boolean;
  time: string;
}

export class DesiredFileSource {
  readonly file: string;
  readonly #service: DesiredApplier;
  readonly #onError: (err: Error, context: FileSourceContext) => void;
  readonly #onRead: ((read: FileSourceRead) => void) | undefined;
  readonly #stabilityThresholdMs: number;
  readonly #readyTimeoutMs: number;
  #watcher: FSWatcher | null = null;
  #closed = false;
  #reading: Promise<void> | null = null;
  #readAgain = false;
  #lastError: FileSourceError | null = null;
  #lastRead: FileSourceRead | null = null;
  #started = false;
  #poll: NodeJS.Timeout | null = null;
  #statKey: string | null = null;

  constructor(options: FileSourceOptions) {
    if (typeof options.file !== 'string' || options.file.length === 0) {
      throw new TypeError(`file must be a non-empty path, got ${JSON.stringify(options.file)}`);
    }
    this.file = path.resolve(options.file);
    this.#service = options.service;
    this.#onError = options.onError ?? (() => undefined);
    this.#onRead = options.onRead;
    this.#stabilityThresholdMs = positive('stabilityThresholdMs', options.stabilityThresholdMs ?? 100);
    this.#readyTimeoutMs = positive('readyTimeoutMs', options.readyTimeoutMs ?? 10_000);
  }

  /** Why the last read was refused; null once a later read is valid. For status. */
  get lastError(): FileSourceError | null {
    return this.#lastError;
  }

  /** The last valid read. */
  get lastRead(): FileSourceRead | null {
    return this.#lastRead;
  }

  /** Starts watching; resolves once the watcher is ready and the file's current content is applied. */
  async start(): Promise<void> {
    if (this.#watcher || this.#closed)
      throw new Error(`desired file source for ${this.file} was already started or closed`);
    const watcher = watch(this.file, {
      ignoreInitial: false,
      // Editors that save by writing a temp file and renaming it over ours show up as `change`
      // (chokidar re-watches the new inode); deleting and re-creating shows up as `add`.
      awaitWriteFinish: { stabilityThreshold: this.#stabilityThresholdMs, pollInterval: 25 },
    });
    this.#watcher = watcher;
    watcher.on('add', () => this.#trigger());
    watcher.on('change', () => this.#trigger());
    // A deleted file changes nothing: the last desired state stays, as with any other source going quiet.
    watcher.on('error', (err) => this.#report(toError(err)));
    await this.#ready(watcher);
    // Read once more after ready: the initial `add` may still wait in awaitWriteFinish.
    this.#trigger();
    await this.#settled();
    this.#started = true;
    // chokidar can miss a file that is deleted and created again (the inode it watched is gone);
    // a cheap stat now and then catches whatever the events missed.
    this.#poll = setInterval(() => void this.#pollStat(), STAT_POLL_MS);
    this.#poll.unref();
  }

  /** Triggers a read when the file is no longer what the last read saw. */
  async #pollStat(): Promise<void> {
    if (this.#reading) return;
    const key = await this.#fileKey();
    if (key !== this.#statKey && key !== 'missing') this.#trigger();
  }

  #fileKey(): Promise<string> {
    return stat(this.file).then(
      (s) => `${s.ino}:${s.size}:${s.mtimeMs}`,
      () => 'missing',
    );
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#poll) clearInterval(this.#poll);
    await this.#watcher?.close();
    // A read in flight finishes first, so the caller may close the store right after.
    await this.#settled();
  }

  #ready(watcher: FSWatcher): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`watching ${this.file} did not become ready within ${this.#readyTimeoutMs} ms`));
      }, this.#readyTimeoutMs);
      watcher.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Coalesces events: one read at a time, and one more after it if anything fired meanwhile. */
  #trigger(): void {
    if (this.#closed) return;
    if (this.#reading) {
      this.#readAgain = true;
      return;
    }
    this.#reading = this.#readLoop().finally(() => {
      this.#reading = null;
    });
  }

  async #readLoop(): Promise<void> {
    do {
      this.#readAgain = false;
      await this.#readOnce();
    } while (this.#readAgain && !this.#closed);
  }

  /**
   * At start, a file last edited before the newest revision from another source (an API switch, a
   * webhook stage) is older news: applying it would undo that revision on every daemon restart.
   * Edits made while the daemon was down are newer than it, and are applied.
   */
  async #staleAtStart(): Promise<boolean> {
    const current = await this.#service.current();
    if (current === null || current.source === 'file') return false;
    const { mtimeMs } = await stat(this.file);
    return Date.parse(current.time) > mtimeMs;
  }

  async #settled(): Promise<void> {
    while (this.#reading) await this.#reading;
  }

  async #readOnce(): Promise<void> {
    let text: string;
    try {
      this.#statKey = await this.#fileKey();
      if (!this.#started && (await this.#staleAtStart())) return;
      text = await readCappedText(this.file, FILE_CAPS.desired, 'desired file');
    } catch (err) {
      // The file is optional and may vanish between the event and the read; `add` brings it back.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      this.#report(toError(err));
      return;
    }
    try {
      const doc = parseDesiredYaml(text, this.#service.tagPattern);
      const result = await this.#service.apply(doc, { source: 'file', author: `file:${this.file}` });
      this.#accepted(result);
    } catch (err) {
      this.#report(toError(err));
    }
  }

  #accepted(result: ApplyResult): void {
    this.#lastRead = { revision: result.revision.number, changed: result.changed, time: new Date().toISOString() };
    this.#lastError = null;
    this.#onRead?.(this.#lastRead);
  }

  #report(error: Error): void {
    this.#lastError = { message: error.message, error, time: new Date().toISOString() };
    try {
      this.#onError(error, { file: this.file });
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
