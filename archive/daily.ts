// The daily exports: one JSON line per GitHub delivery received that day (the raw body as a string,
// exactly the bytes its signature covers) and one per ledger entry that started or ended that day
// (as it stood when the day was exported). A day is exported once it is over, GRACE_MS after midnight
// UTC, so a delivery stored a moment after midnight still lands in its own day's file.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import type { ArchiveRecords } from '../store/archive-records.js';
import { dayOf, dayRange, nextDay, type DailyKind } from './names.js';

export const GRACE_MS = 5 * 60_000;
/** Days queued by one scan: a first start on an old store catches up over several scans. */
export const DAYS_PER_SCAN = 31;
const PAGE = 500;
/** A day has a handful of switches; this bound only keeps a broken store from filling memory. */
const LEDGER_DAY_MAX = 100_000;
const EPOCH = '1970-01-01T00:00:00.000Z';

/**
 * The days of `kind` to queue now: those after the newest day already queued (or, on a first run,
 * from the day of the oldest record), up to the last day that is over. A day without records is
 * exported too, as an empty file: the archive then says "nothing that day" instead of nothing.
 */
export async function dueDays(records: ArchiveRecords, kind: DailyKind, nowMs: number): Promise<string[]> {
  const today = dayOf(nowMs - GRACE_MS);
  const newest = (await records.list({ kind }, 1))[0];
  const first = newest ? nextDay(newest.source) : await oldestDay(records, kind, `${today}T00:00:00.000Z`);
  const days: string[] = [];
  for (let day = first; day !== null && day < today && days.length < DAYS_PER_SCAN; day = nextDay(day)) days.push(day);
  return days;
}

async function oldestDay(records: ArchiveRecords, kind: DailyKind, before: string): Promise<string | null> {
  const range = { from: EPOCH, to: before };
  const time =
    kind === 'deliveries'
      ? (await records.deliveries(range, null, 1))[0]?.receivedAt
      : (await records.deployments(range, 1))[0]?.startedAt;
  return time === undefined ? null : dayOf(Date.parse(time));
}

/** Writes the day's JSON lines of `kind` to `file` (created 0600). */
export async function writeDay(records: ArchiveRecords, kind: DailyKind, day: string, file: string): Promise<void> {
  const out = createWriteStream(file, { flags: 'wx', mode: 0o600 });
  await once(out, 'open');
  try {
    for await (const line of dayLines(records, kind, day)) {
      if (!out.write(line)) await once(out, 'drain');
    }
  } finally {
    out.end();
    await finished(out);
  }
}

async function* dayLines(records: ArchiveRecords, kind: DailyKind, day: string): AsyncGenerator<string> {
  const range = dayRange(day);
  if (kind === 'ledger') {
    for (const entry of await records.deployments(range, LEDGER_DAY_MAX)) yield `${JSON.stringify(entry)}\n`;
    return;
  }
  let cursor = null;
  for (;;) {
    const page = await records.deliveries(range, cursor, PAGE);
    for (const d of page) {
      const { deliveryId, event, receivedAt, payload } = d;
      yield `${JSON.stringify({ deliveryId, event, receivedAt, payload })}\n`;
    }
    if (page.length < PAGE) return;
    const last = page.at(-1)!;
    cursor = { receivedAt: last.receivedAt, deliveryId: last.deliveryId };
  }
}
