// Tag order: which release is newer. Tags are `v<YY.MM.DD.B>`, so they compare by their numbers
// (v26.11.27.10 is newer than v26.11.27.9, which a string compare gets wrong). A tag of another
// shape (a lax tagPattern) compares piece by piece: runs of digits as numbers, the rest as text.

const PIECES = /\d+|\D+/g;

/** Negative when `a` is older than `b`, positive when newer, 0 when they are the same tag. */
export function compareTags(a: string, b: string): number {
  const left = a.match(PIECES) ?? [];
  const right = b.match(PIECES) ?? [];
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const order = comparePiece(left[i]!, right[i]!);
    if (order !== 0) return order;
  }
  return left.length - right.length;
}

/** True when `tag` is newer than every tag in `others`; a missing tag (null) is older than any. */
export function isNewerThanAll(tag: string, others: ReadonlyArray<string | null>): boolean {
  return others.every((other) => other === null || compareTags(tag, other) > 0);
}

/** The `limit` newest tags, newest first, without repeats. */
export function newestTags(tags: Iterable<string>, limit: number): string[] {
  return [...new Set(tags)].sort((a, b) => compareTags(b, a)).slice(0, limit);
}

function comparePiece(a: string, b: string): number {
  const digits = /^\d/;
  if (digits.test(a) && digits.test(b)) {
    const diff = BigInt(a) - BigInt(b);
    return diff === 0n ? 0 : diff < 0n ? -1 : 1;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}
