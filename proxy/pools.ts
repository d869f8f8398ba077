// Upstream connection pools, one per backend address, shared by every target that points there. A
// quick switch back (a rollback while the old color still drains) then reuses the warm keep-alive
// connections instead of opening hundreds of new ones; a pool closes when its last target lets go.
import { Pool } from 'undici';
import type { TargetOptions } from './target.js';

/** A target's hold on a pool; `release` closes the pool gracefully when no other target holds it. */
export interface PoolLease {
  readonly pool: Pool;
  release(): Promise<void>;
}

interface Shared {
  pool: Pool;
  holders: number;
}

export class BackendPools {
  readonly #options: Required<TargetOptions>;
  readonly #shared = new Map<string, Shared>();

  /** `options` must be checked already (checkTargetOptions). */
  constructor(options: Required<TargetOptions>) {
    this.#options = options;
  }

  lease(origin: string): PoolLease {
    let shared = this.#shared.get(origin);
    if (!shared) {
      shared = { pool: this.#create(origin), holders: 0 };
      this.#shared.set(origin, shared);
    }
    shared.holders += 1;
    const entry = shared;
    let released = false;
    return {
      pool: entry.pool,
      release: async () => {
        if (released) return;
        released = true;
        entry.holders -= 1;
        if (entry.holders > 0) return;
        this.#shared.delete(origin);
        // Graceful: requests still running finish on their sockets; no new one may start.
        await entry.pool.close().catch(() => undefined);
      },
    };
  }

  #create(origin: string): Pool {
    const o = this.#options;
    return new Pool(origin, {
      connections: o.connections,
      pipelining: 1,
      keepAliveTimeout: o.keepAliveTimeoutMs,
      keepAliveTimeoutThreshold: o.keepAliveThresholdMs,
      keepAliveMaxTimeout: o.keepAliveMaxTimeoutMs,
      headersTimeout: o.responseTimeoutMs,
      bodyTimeout: o.bodyTimeoutMs,
      connect: { timeout: o.connectTimeoutMs },
    });
  }
}
