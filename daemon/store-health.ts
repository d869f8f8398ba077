// The store's health in the daemon: a status condition while the daemon runs, and one log line
// each time the store turns bad (a damaged embedded file refuses writes until it is repaired).
import type { StoreHealth } from '../common/types.js';
import type { Loop } from '../reconciler/loop.js';
import type { Store } from '../store/store.js';

/** The store's integrity as a status condition, and one log line when it turns bad. */
export function watchStoreHealth(
  store: Store,
  reconciler: Loop,
  log: (line: string) => void,
  closers: Array<() => Promise<unknown>>,
): void {
  const report = (health: StoreHealth): void => {
    reconciler.setStoreHealth(health);
    if (health.state === 'damaged')
      log(`store: ${health.detail}; writes are refused until it is repaired: ${health.fix}`);
  };
  report(store.health());
  const unsubscribe = store.onHealthChange(report);
  closers.unshift(async () => unsubscribe());
}
