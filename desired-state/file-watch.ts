// Watches one file for the desired file source: chokidar events, plus a cheap stat poll that
// catches what the events miss (chokidar can lose a file that is deleted and created again, as
// the inode it watched is gone). Either way it only says "look again"; the source reads the file.
import { stat } from 'node:fs/promises';
import { watch, type FSWatcher } from 'chokidar';

/** How often the file is stat()ed in case a watcher event was missed. */
const STAT_POLL_MS = 500;

export interface FileWatchOptions {
  file: string;
  /** The file may have changed (written, replaced, deleted). */
  onChange: () => void;
  onError: (err: Error) => void;
  /** How long the file's size must stay the same before a change is told. */
  stabilityThresholdMs: number;
  /** Deadline for the watcher to become ready in start(). */
  readyTimeoutMs: number;
}

export class FileWatch {
  readonly #options: FileWatchOptions;
  #watcher: FSWatcher | null = null;
  #poll: NodeJS.Timeout | null = null;
  /** The file as the source last saw it: the poll tells a change when it is no longer this. */
  #seenKey: string | null = null;

  constructor(options: FileWatchOptions) {
    this.#options = options;
  }

  /** Resolves once the watcher is ready. The stat poll starts with startPolling(). */
  async start(): Promise<void> {
    const { file, stabilityThresholdMs } = this.#options;
    this.#watcher = watch(file, {
      ignoreInitial: false,
      // Editors that save by writing a temp file and renaming it over ours show up as `change`
      // (chokidar re-watches the new inode); deleting and re-creating shows up as `add`.
      awaitWriteFinish: { stabilityThreshold: stabilityThresholdMs, pollInterval: 25 },
    });
    for (const event of ['add', 'change', 'unlink'] as const) this.#watcher.on(event, () => this.#options.onChange());
    this.#watcher.on('error', (err) => this.#options.onError(err instanceof Error ? err : new Error(String(err))));
    await this.#ready(this.#watcher);
  }

  startPolling(): void {
    this.#poll = setInterval(() => void this.#pollStat(), STAT_POLL_MS);
    this.#poll.unref();
  }

  /** Records the file as it is now as seen (call before reading it, and after writing it). */
  async seen(): Promise<void> {
    this.#seenKey = await this.#fileKey();
  }

  async close(): Promise<void> {
    if (this.#poll) clearInterval(this.#poll);
    await this.#watcher?.close();
  }

  async #pollStat(): Promise<void> {
    if ((await this.#fileKey()) !== this.#seenKey) this.#options.onChange();
  }

  #fileKey(): Promise<string> {
    return stat(this.#options.file).then(
      (s) => `${s.ino}:${s.size}:${s.mtimeMs}`,
      () => 'missing',
    );
  }

  #ready(watcher: FSWatcher): Promise<void> {
    const { file, readyTimeoutMs } = this.#options;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`watching ${file} did not become ready within ${readyTimeoutMs} ms`));
      }, readyTimeoutMs);
      watcher.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
