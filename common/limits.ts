// Bounds on what the daemon parses and reads, in one place. A client, a webhook or a file may be
// hostile or simply wrong; nothing it holds may cost unbounded memory or recursion, and the error
// names the bound so the sender knows what to change.
import { HypervisorError } from './errors.js';

/** Levels of nesting in a JSON or YAML document: request bodies, deliveries, desired state, config. */
export const MAX_NESTING = 32;

/** Bytes of each file the daemon reads, checked (fstat) before reading it. */
export const FILE_CAPS = {
  /** The desired-state document (desired.file, desired.git): as much as PUT /desired takes. */
  desired: 64 * 1024,
  /** The daemon's config file. */
  config: 1024 * 1024,
  /** A secret (auth.secretFile, github.secretFile): a line of text. */
  secret: 64 * 1024,
  /** A TLS certificate chain or key. */
  certificate: 1024 * 1024,
} as const;

/** A document nests deeper than MAX_NESTING; `what` says which (`request body`, `desired state`). */
export class TooDeepError extends HypervisorError {
  readonly limit: number;
  constructor(what: string, limit: number) {
    super('too_deep', `${what} nests deeper than ${limit} levels`);
    this.limit = limit;
  }
}

/** A file is over its cap; `size` is null when it grew past the cap while being read. */
export class FileTooLargeError extends HypervisorError {
  readonly file: string;
  readonly size: number | null;
  readonly cap: number;
  constructor(what: string, file: string, size: number | null, cap: number) {
    const actual = size === null ? `more than ${cap} bytes` : `${size} bytes (${humanBytes(size)})`;
    super('too_large', `${what} ${file} is ${actual}, over the cap of ${cap} bytes (${humanBytes(cap)})`);
    this.file = file;
    this.size = size;
    this.cap = cap;
  }
}

function humanBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} bytes` : `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
}
