// A small typed reader over an untrusted YAML object: each getter validates one key and names it
// (dotted path and offending value) in the ValidationError it throws. Unknown keys are errors too,
// so a typo in the config stops the daemon instead of being silently ignored.
import { ValidationError } from '../common/errors.js';
import { parseDuration } from '../common/duration.js';

import { describeValue } from '../common/describe.js';

const SIZE = /^(\d+)\s*(b|kb|mb|gb|kib|mib|gib)?$/i;
const SIZE_UNIT = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 } as const;

export class ObjectReader {
  readonly #obj: Record<string, unknown>;
  readonly #path: string;
  readonly #seen = new Set<string>();

  constructor(value: unknown, path: string) {
    if (value === undefined || value === null) value = {};
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw new ValidationError(path, `must be a mapping, got ${describeValue(value)}`);
    }
    this.#obj = value as Record<string, unknown>;
    this.#path = path;
  }

  keyPath(key: string): string {
    return this.#path ? `${this.#path}.${key}` : key;
  }

  has(key: string): boolean {
    return this.#obj[key] !== undefined && this.#obj[key] !== null;
  }

  raw(key: string): unknown {
    this.#seen.add(key);
    return this.#obj[key];
  }

  child(key: string): ObjectReader {
    return new ObjectReader(this.raw(key), this.keyPath(key));
  }

  string(key: string, fallback?: string): string {
    const value = this.raw(key) ?? fallback;
    if (typeof value !== 'string' || value.length === 0) {
      throw new ValidationError(this.keyPath(key), `must be a non-empty string, got ${describeValue(value)}`);
    }
    return value;
  }

  optionalString(key: string): string | null {
    return this.has(key) ? this.string(key) : (this.raw(key), null);
  }

  boolean(key: string, fallback: boolean): boolean {
    const value = this.raw(key) ?? fallback;
    if (typeof value !== 'boolean') {
      throw new ValidationError(this.keyPath(key), `must be true or false, got ${describeValue(value)}`);
    }
    return value;
  }

  integer(key: string, fallback: number, min: number, max: number): number {
    const value = this.raw(key) ?? fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new ValidationError(
        this.keyPath(key),
        `must be an integer from ${min} to ${max}, got ${describeValue(value)}`,
      );
    }
    return value;
  }

  durationMs(key: string, fallback: string): number {
    const value = this.raw(key) ?? fallback;
    const ms = parseDuration(value);
    if (ms === null) {
      throw new ValidationError(
        this.keyPath(key),
        `must be a duration like 500ms, 2s, 10m or 1h, got ${describeValue(value)}`,
      );
    }
    return ms;
  }

  /** A byte count: a whole number, or with a binary unit (512kb, 10mb, 1gb; also KiB, MiB, GiB). */
  size(key: string, fallback: string): number {
    const value = this.raw(key) ?? fallback;
    const match = SIZE.exec(String(value).trim());
    const bytes =
      match && (typeof value === 'number' || typeof value === 'string')
        ? Number(match[1]) * SIZE_UNIT[(match[2] ?? 'b').toLowerCase().replace('i', '') as keyof typeof SIZE_UNIT]
        : NaN;
    if (!Number.isSafeInteger(bytes)) {
      throw new ValidationError(
        this.keyPath(key),
        `must be a size like 1048576, 512kb, 10mb or 1gb, got ${describeValue(value)}`,
      );
    }
    return bytes;
  }

  /** A number from `min` to `max`, fractions allowed (a percentage, say). */
  number(key: string, fallback: number, min: number, max: number): number {
    const value = this.raw(key) ?? fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
      throw new ValidationError(
        this.keyPath(key),
        `must be a number from ${min} to ${max}, got ${describeValue(value)}`,
      );
    }
    return value;
  }

  oneOf<T extends string>(key: string, choices: readonly T[], fallback: T): T {
    const value = this.raw(key) ?? fallback;
    if (!choices.includes(value as T)) {
      throw new ValidationError(this.keyPath(key), `must be one of ${choices.join(', ')}, got ${describeValue(value)}`);
    }
    return value as T;
  }

  /** Call after reading every known key: anything left is a typo or an unsupported option. */
  rejectUnknown(): void {
    for (const key of Object.keys(this.#obj)) {
      if (!this.#seen.has(key)) {
        throw new ValidationError(this.keyPath(key), `unknown key (value ${describeValue(this.#obj[key])})`);
      }
    }
  }
}

/** A string key whose value must match `pattern`. */
export function matching(reader: ObjectReader, key: string, pattern: RegExp, fallback?: string): string {
  const value = reader.string(key, fallback);
  if (!pattern.test(value)) {
    throw new ValidationError(reader.keyPath(key), `must match ${pattern.source}, got ${describeValue(value)}`);
  }
  return value;
}
