// Latency as the proxy measures it: counts per fixed bucket, the same buckets for the Prometheus
// histogram, the per-minute traffic history and the verification window, so each of them is a
// plain sum of counters and a window is a difference of two readings.

/**
 * Upper bounds in seconds (a request lands in the first bucket whose bound it does not exceed;
 * slower ones land in +Inf). Finer around common p99 thresholds (0.25s .. 3s) than Prometheus's defaults.
 */
export const LATENCY_BOUNDS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 2.5, 3, 5, 10, 30, 60,
];

/** Buckets including +Inf: the length of every latency count array. */
export const LATENCY_BUCKETS = LATENCY_BOUNDS.length + 1;

/** The bucket `seconds` counts in. Most requests are fast, so the scan from the bottom is short. */
export function bucketOf(seconds: number): number {
  let i = 0;
  while (i < LATENCY_BOUNDS.length && seconds > (LATENCY_BOUNDS[i] as number)) i += 1;
  return i;
}

/**
 * The q-quantile (0 < q < 1) of the counts, interpolated linearly within its bucket as Prometheus's
 * histogram_quantile does; a quantile in +Inf is the highest finite bound. Null when nothing was counted.
 */
export function quantile(counts: ArrayLike<number>, q: number): number | null {
  let total = 0;
  for (let i = 0; i < counts.length; i += 1) total += counts[i] as number;
  if (total === 0) return null;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < counts.length; i += 1) {
    const here = counts[i] as number;
    if (below + here >= rank && here > 0) {
      if (i >= LATENCY_BOUNDS.length) return LATENCY_BOUNDS[LATENCY_BOUNDS.length - 1] as number;
      const lower = i === 0 ? 0 : (LATENCY_BOUNDS[i - 1] as number);
      const upper = LATENCY_BOUNDS[i] as number;
      return lower + (upper - lower) * ((rank - below) / here);
    }
    below += here;
  }
  return LATENCY_BOUNDS[LATENCY_BOUNDS.length - 1] as number;
}
