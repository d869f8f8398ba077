// A copy of the daemon's output in a file (the demo's `<root>/logs/hypervisor.log`), written chunk by
// chunk with writeSync: no stream whose 'error' could end the process. A chunk the disk refuses is
// lost and counted; the first write that works again says how many were lost, and why.
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { LOG_DIR_MODE, LOG_FILE_MODE } from '../common/file-modes.js';
import { asWriteFailure } from '../common/write-failure.js';

export class LogCopy {
  readonly file: string;
  #fd: number;
  #lost = 0;
  #why = '';

  private constructor(file: string, fd: number) {
    this.file = file;
    this.#fd = fd;
  }

  /** Opens `file` for appending; throws WriteFailedError when the disk refuses even that. */
  static open(file: string): LogCopy {
    try {
      mkdirSync(path.dirname(file), { recursive: true, mode: LOG_DIR_MODE });
      return new LogCopy(file, openSync(file, 'a', LOG_FILE_MODE));
    } catch (err) {
      throw asWriteFailure(err, file);
    }
  }

  write(chunk: Buffer): void {
    if (this.#fd < 0) return;
    try {
      if (this.#lost > 0) {
        writeSync(this.#fd, `[${this.#lost} chunks of output were lost: ${this.#why}]\n`);
        this.#lost = 0;
      }
      writeSync(this.#fd, chunk);
    } catch (err) {
      if (this.#lost === 0) this.#why = (asWriteFailure(err, this.file) as Error).message;
      this.#lost += 1;
    }
  }

  close(): void {
    if (this.#fd < 0) return;
    closeSync(this.#fd);
    this.#fd = -1;
  }
}
