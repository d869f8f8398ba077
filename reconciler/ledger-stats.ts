// Two of the DORA measures over the deployment ledger: the change-failure rate (the share of
// deployments that failed in production: rolled back, or judged failed by a gate after the switch)
// and the median time to restore (for each failed deployment that has ended, how long the failed
// change served before traffic left it). A smoke failure never becomes a deployment: it blocked the
// switch, so it is no failure in production. Pure: computed from the entries it is given.
import type { Deployment } from '../common/types.js';

export interface LedgerStats {
  deployments: number;
  failed: number;
  /** failed / deployments; null with no deployments. */
  changeFailureRate: number | null;
  /** Null while no failed deployment has ended. */
  medianTimeToRestoreMs: number | null;
}

export function isFailedDeployment(d: Pick<Deployment, 'endReason' | 'gates'>): boolean {
  return d.endReason === 'rolled_back' || d.gates.some((g) => g.result === 'failed');
}

export function ledgerStats(ledger: readonly Deployment[]): LedgerStats {
  const failed = ledger.filter(isFailedDeployment);
  const restores = failed.flatMap((d) =>
    d.endedAt === null ? [] : [Math.max(0, Date.parse(d.endedAt) - Date.parse(d.startedAt))],
  );
  return {
    deployments: ledger.length,
    failed: failed.length,
    changeFailureRate: ledger.length === 0 ? null : failed.length / ledger.length,
    medianTimeToRestoreMs: median(restores),
  };
}

function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
