// Flag values checked where they are read, with the flag and the bad value in the message (exit 2).
import { parseDuration } from '../common/duration.js';
import { isColor, type Color } from '../common/types.js';
import { UsageError } from './output.js';

/** `--timeout 90s`: a duration (ms, s, m, h); a bare number counts as seconds, as operators type it. */
export function durationFlag(value: unknown, flag: string, fallback: string): number {
  const raw = value === undefined ? fallback : typeof value === 'number' ? `${value}s` : String(value);
  const ms = parseDuration(raw);
  if (ms === null || ms <= 0)
    throw new UsageError(`${flag} must be a duration like 30s, 10m or 1h, got ${JSON.stringify(raw)}`);
  return ms;
}

export function colorFlag(value: unknown, flag: string): Color | undefined {
  if (value === undefined) return undefined;
  if (!isColor(value)) throw new UsageError(`${flag} must be blue or green, got ${JSON.stringify(value)}`);
  return value;
}

export function stringFlag(value: unknown, flag: string): string | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) throw new UsageError(`${flag} was given ${value.length} times; give it once`);
  if (typeof value === 'boolean' || String(value) === '') throw new UsageError(`${flag} needs a value`);
  return String(value);
}

export function integerFlag(value: unknown, flag: string, fallback: number, min: number, max: number): number {
  const n = value === undefined ? fallback : Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`${flag} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  return n;
}

/** `--ports 8001,8002`: the blue and the green port. */
export function portsFlag(value: unknown, fallback: string): { blue: number; green: number } {
  const raw = value === undefined ? fallback : String(value);
  const parts = raw.split(',').map((p) => Number(p.trim()));
  const valid = (p: number | undefined): p is number => p !== undefined && Number.isInteger(p) && p >= 1 && p <= 65535;
  if (parts.length !== 2 || !valid(parts[0]) || !valid(parts[1]) || parts[0] === parts[1]) {
    throw new UsageError(`--ports must be two different ports BLUE,GREEN like 8001,8002, got ${JSON.stringify(raw)}`);
  }
  return { blue: parts[0], green: parts[1] };
}
