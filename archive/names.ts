// Where each archived object goes (README, "Log archive"): below the configured prefix,
//   <tag>/<step>.log                  a release's BUILD, TEST (and any later step's) log
//   deliveries/<YYYY-MM-DD>.jsonl     the raw GitHub deliveries received that day (UTC)
//   ledger/<YYYY-MM-DD>.jsonl         the deployment ledger entries that started or ended that day
// and the days of the calendar the daily exports count in (UTC, so every host agrees on a day).
import { isSafeTag } from '../common/git-names.js';
import { ValidationError } from '../common/errors.js';

/** A step's name becomes a file name: `build`, `test`, `smoke`. */
const STEP = /^[a-z][a-z0-9-]{0,31}$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 86_400_000;

export type DailyKind = 'deliveries' | 'ledger';
export const DAILY_KINDS: readonly DailyKind[] = ['deliveries', 'ledger'];

export function logName(tag: string, step: string): string {
  if (!isSafeTag(tag)) throw new ValidationError('tag', `is not a release tag: ${JSON.stringify(tag)}`);
  if (!STEP.test(step))
    throw new ValidationError('step', `must be a step name like build, got ${JSON.stringify(step)}`);
  return `${tag}/${step}.log`;
}

export function dayName(kind: DailyKind, day: string): string {
  return `${kind}/${checkDay(day)}.jsonl`;
}

/** The object's key in the bucket. */
export function objectKey(prefix: string, name: string): string {
  return prefix === '' ? name : `${prefix}/${name}`;
}

/** `s3://bucket/key`, as the operator reads it and the AWS CLI takes it. */
export function s3Url(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

export function checkDay(day: string): string {
  if (!DAY.test(day) || Number.isNaN(Date.parse(`${day}T00:00:00.000Z`))) {
    throw new ValidationError('day', `must be a day like 2026-11-27, got ${JSON.stringify(day)}`);
  }
  return day;
}

/** The UTC day an instant falls on. */
export function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function nextDay(day: string): string {
  return dayOf(Date.parse(`${checkDay(day)}T00:00:00.000Z`) + DAY_MS);
}

/** The day as a range of instants: its first millisecond included, the next day's excluded. */
export function dayRange(day: string): { from: string; to: string } {
  return { from: `${checkDay(day)}T00:00:00.000Z`, to: `${nextDay(day)}T00:00:00.000Z` };
}
