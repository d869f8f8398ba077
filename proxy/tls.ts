// HTTPS on the public listener: the certificate and key are read at start and read again when
// either file changes (renewal by certbot, a rename over the old file, a symlink swap). New
// handshakes get the new pair via setSecureContext; open connections keep theirs and are never cut.
import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { readCappedFile, readCappedFileSync } from '../common/capped-read.js';
import { HypervisorError } from '../common/errors.js';
import { FILE_CAPS } from '../common/limits.js';

export interface TlsFiles {
  /** PEM certificate chain (leaf first). */
  certFile: string;
  /** PEM private key of the leaf certificate. */
  keyFile: string;
}

export interface KeyPair {
  cert: Buffer;
  key: Buffer;
}

/** The certificate or key cannot be read, or they do not make a usable pair. */
export class TlsCertificateError extends HypervisorError {
  constructor(files: TlsFiles, cause: Error) {
    super('tls_certificate', `cannot use certificate ${files.certFile} with key ${files.keyFile}: ${cause.message}`, {
      cause,
    });
  }
}

/** Events often come in bursts (write, chmod, rename); one read after they settle is enough. */
const SETTLE_MS = 150;

/** Reads and checks a pair at start, synchronously: a listener must not open without its certificate. */
export function loadKeyPairSync(files: TlsFiles): KeyPair {
  try {
    return checked({
      cert: readCappedFileSync(files.certFile, FILE_CAPS.certificate, 'TLS certificate'),
      key: readCappedFileSync(files.keyFile, FILE_CAPS.certificate, 'TLS key'),
    });
  } catch (err) {
    throw new TlsCertificateError(files, err as Error);
  }
}

/** createSecureContext fails on a bad PEM or a key that does not match the certificate. */
function checked(pair: KeyPair): KeyPair {
  tls.createSecureContext(pair);
  return pair;
}

export interface ReloaderOptions {
  files: TlsFiles;
  /** The pair the server started with. */
  current: KeyPair;
  /** Called with the new pair once it is in use. */
  apply(pair: KeyPair): void;
  /** Told about every reload: null when the new pair is in use, else why the old one stays. */
  onReload?(error: TlsCertificateError | null): void;
}

/**
 * Watches the folders of both files (a watch on a file itself is lost when the file is replaced by
 * a rename) and applies a changed pair only when it is complete and consistent: a certificate
 * written before its key is refused until the key follows, and the old pair serves meanwhile.
 */
export class CertificateReloader {
  readonly #options: ReloaderOptions;
  readonly #watchers: FSWatcher[] = [];
  #current: KeyPair;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(options: ReloaderOptions) {
    this.#options = options;
    this.#current = options.current;
    const names = new Map<string, Set<string>>();
    for (const file of [options.files.certFile, options.files.keyFile]) {
      const dir = path.dirname(path.resolve(file));
      names.set(dir, (names.get(dir) ?? new Set()).add(path.basename(file)));
    }
    for (const [dir, files] of names) this.#watch(dir, files);
  }

  /** A folder that cannot be watched (gone, out of inotify watches) costs the reload, never the listener. */
  #watch(dir: string, files: Set<string>): void {
    try {
      const watcher = watch(dir, { persistent: false }, (_event, name) => {
        // Some platforms omit the name; then any change in the folder counts.
        if (name === null || files.has(name.toString())) this.#schedule();
      });
      watcher.on('error', (err) => this.#options.onReload?.(new TlsCertificateError(this.#options.files, err)));
      this.#watchers.push(watcher);
    } catch (err) {
      this.#options.onReload?.(new TlsCertificateError(this.#options.files, err as Error));
    }
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    for (const watcher of this.#watchers) watcher.close();
  }

  #schedule(): void {
    if (this.#closed) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#reload(), SETTLE_MS);
  }

  async #reload(): Promise<void> {
    this.#timer = null;
    const { files } = this.#options;
    let pair: KeyPair;
    try {
      pair = checked({
        cert: await readCappedFile(files.certFile, FILE_CAPS.certificate, 'TLS certificate'),
        key: await readCappedFile(files.keyFile, FILE_CAPS.certificate, 'TLS key'),
      });
    } catch (err) {
      if (!this.#closed) this.#options.onReload?.(new TlsCertificateError(files, err as Error));
      return;
    }
    if (this.#closed || (pair.cert.equals(this.#current.cert) && pair.key.equals(this.#current.key))) return;
    this.#current = pair;
    this.#options.apply(pair);
    this.#options.onReload?.(null);
  }
}
