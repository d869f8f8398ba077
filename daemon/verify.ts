// gates.verify, wired: the verifier (reconciler/verifier.ts) watches each promotion the loop
// records, reading the proxy's meter, and rolls back through the desired state.
import type { Config } from '../config/config.js';
import type { DesiredStateService } from '../desired-state/revisions.js';
import type { TrafficMeter } from '../proxy/meter.js';
import type { Loop } from '../reconciler/loop.js';
import type { HypervisorMetrics } from '../reconciler/metrics.js';
import { VERIFY_SOURCE, Verifier } from '../reconciler/verifier.js';
import { EventLog } from '../store/event-log.js';
import type { Store } from '../store/store.js';

export interface VerifyParts {
  store: Store;
  desired: DesiredStateService;
  reconciler: Loop;
  meter: TrafficMeter;
  metrics: HypervisorMetrics;
}

/** Starts verifying promotions when gates.verify is set; nothing otherwise. */
export function startVerification(config: Config, parts: VerifyParts, closers: Array<() => Promise<unknown>>): void {
  const thresholds = config.gates.verify;
  if (thresholds === null) return;
  const { store, desired, reconciler, meter, metrics } = parts;
  const events = new EventLog(store, VERIFY_SOURCE);
  const verifier = new Verifier({
    thresholds,
    meter,
    store,
    desired,
    colors: () => reconciler.status().colors,
    wake: () => void reconciler.trigger(),
    event: (e) => events.record(e),
    metrics,
  });
  const off = reconciler.onPromoted((entry) => verifier.start(entry));
  closers.unshift(async () => {
    off();
    verifier.close();
  });
}
