// What is known of one running process of a color, probe after probe: failures in a row (and how
// many of them ran out of time), whether it was ever Ready, since when it runs, when it was last
// probed. A new MainPID starts a fresh history. Pure values: the health watch keeps them.
import type { ProbeResult } from '../units/health.js';

/** What a color's probe is aimed at: the process that runs, its port and the version it must name. */
export interface ProbeTarget {
  mainPid: number | null;
  port: number;
  version: string;
}

export interface HealthHistory {
  readonly target: ProbeTarget;
  /** When this MainPID was first seen running. */
  readonly firstSeenAt: number;
  /** Failed probes in a row (reset by a Ready one). */
  readonly consecutiveFailures: number;
  /** Of those, the ones that got no answer in time: all of them means the process stalls. */
  readonly consecutiveTimeouts: number;
  /** Whether this MainPID has been Ready at least once. */
  readonly wasReady: boolean;
  /** The last recorded probe, null before the first. */
  readonly last: ProbeResult | null;
  /** When the last recorded probe started, null before the first. */
  readonly lastProbeAt: number | null;
}

export function freshHistory(target: ProbeTarget, now: number): HealthHistory {
  return {
    target,
    firstSeenAt: now,
    consecutiveFailures: 0,
    consecutiveTimeouts: 0,
    wasReady: false,
    last: null,
    lastProbeAt: null,
  };
}

/** The history after one more probe of its process, started at `startedAt`. */
export function afterProbe(history: HealthHistory, result: ProbeResult, startedAt: number): HealthHistory {
  if (result.ready) {
    return {
      ...history,
      consecutiveFailures: 0,
      consecutiveTimeouts: 0,
      wasReady: true,
      last: result,
      lastProbeAt: startedAt,
    };
  }
  return {
    ...history,
    consecutiveFailures: history.consecutiveFailures + 1,
    consecutiveTimeouts: history.consecutiveTimeouts + (result.timedOut ? 1 : 0),
    last: result,
    lastProbeAt: startedAt,
  };
}

/** True when both aim at the same process: a new MainPID is a new history. */
export function sameProcess(a: ProbeTarget, b: ProbeTarget): boolean {
  return a.mainPid === b.mainPid;
}
