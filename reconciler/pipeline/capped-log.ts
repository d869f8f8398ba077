// A step's log file. Output beyond the cap is dropped (and the pipe still drained, so the script
// never blocks on a full pipe); one marker line says so. Header and footer lines are always written,
// so the exit status is at the end of a truncated log too. A write the disk refuses (full, failing,
// not ours) never escapes as an unhandled stream error: the log stops writing, keeps the failure
// for the step to report, and tells `onFailure` at once so the step can stop its script.
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';
import { LOG_DIR_MODE, LOG_FILE_MODE } from '../../common/file-modes.js';
import { asWriteFailure, guardWrite, WriteFailedError } from '../../common/write-failure.js';

/** @default 5 MiB */
export const DEFAULT_LOG_CAP_BYTES = 5 * 1024 * 1024;
const CLOSE_TIMEOUT_MS = 10_000;

export class CappedLog {
  readonly path: string;
  readonly #stream: WriteStream;
  readonly #cap: number;
  #written = 0;
  #truncated = false;
  #failure: WriteFailedError | null = null;
  #onFailure: (failure: WriteFailedError) => void = () => undefined;

  private constructor(file: string, stream: WriteStream, cap: number) {
    this.path = file;
    this.#stream = stream;
    this.#cap = cap;
    stream.on('error', (err) => this.#failed(err));
  }

  /** Creates (or empties) the file; its folder is created. Rejects with WriteFailedError when the disk refuses. */
  static open(file: string, cap: number): Promise<CappedLog> {
    return guardWrite(file, async () => {
      // Logs may name hosts, paths and test data: never readable by every local user (0750 / 0640).
      await mkdir(path.dirname(file), { recursive: true, mode: LOG_DIR_MODE });
      const stream = createWriteStream(file, { flags: 'w', mode: LOG_FILE_MODE });
      await once(stream, 'open');
      return new CappedLog(file, stream, cap);
    });
  }

  get truncated(): boolean {
    return this.#truncated;
  }

  /** Why the log stopped taking writes (a full disk, say), or null while it takes them. */
  get failure(): WriteFailedError | null {
    return this.#failure;
  }

  /** Called once, when the first write fails. */
  onFailure(listener: (failure: WriteFailedError) => void): void {
    this.#onFailure = listener;
    if (this.#failure) listener(this.#failure);
  }

  /** Script output, counted against the cap. */
  write(chunk: Buffer): void {
    if (this.#truncated || this.#failure) return;
    const room = this.#cap - this.#written;
    if (chunk.length <= room) {
      this.#written += chunk.length;
      this.#stream.write(chunk);
      return;
    }
    this.#stream.write(chunk.subarray(0, room));
    this.#written = this.#cap;
    this.#truncated = true;
    this.#stream.write(`\n[log truncated: output beyond ${this.#cap} bytes was dropped]\n`);
  }

  /** A line of our own (header, footer, kill notice), not counted against the cap. */
  note(text: string): void {
    if (this.#failure) return;
    this.#stream.write(`[pipeline] ${text}\n`);
  }

  async close(): Promise<void> {
    if (this.#stream.closed || this.#stream.destroyed) return;
    const closed = once(this.#stream, 'close').catch(() => undefined);
    this.#stream.end();
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, CLOSE_TIMEOUT_MS).unref())]);
  }

  #failed(err: Error): void {
    if (this.#failure) return;
    const failure = asWriteFailure(err, this.path);
    // Any other stream error (EBADF, say) is still a log that cannot be written: report it as EIO.
    this.#failure =
      failure instanceof WriteFailedError ? failure : new WriteFailedError(this.path, 'EIO', { cause: err });
    this.#onFailure(this.#failure);
  }
}
