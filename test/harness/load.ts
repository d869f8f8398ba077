// Bounded HTTP load for tests: `connections` keep-alive clients send GETs until the time or the
// request budget runs out (both are hard caps), counting every answer and failure.
import { Pool } from 'undici';

export interface LoadOptions {
  /** Loopback origin, e.g. http://127.0.0.1:8080. */
  origin: string;
  path?: string;
  connections: number;
  durationMs: number;
  maxRequests: number;
}

export interface LoadResult {
  ok: number;
  failed: number;
  /** First failures, for the assertion message. */
  failures: string[];
  /** Response bodies seen, with their counts (a backend's version, say). */
  bodies: Map<string, number>;
}

export interface RunningLoad {
  /** Resolves when the time or the request budget is used up. */
  done: Promise<LoadResult>;
  /** The counts so far, live: a test waits on them to know the load has seen a change. */
  readonly progress: Readonly<LoadResult>;
  stop(): void;
}

export function startLoad(options: LoadOptions): RunningLoad {
  const pool = new Pool(options.origin, { connections: options.connections, pipelining: 1 });
  const result: LoadResult = { ok: 0, failed: 0, failures: [], bodies: new Map() };
  const until = Date.now() + options.durationMs;
  let sent = 0;
  let stopped = false;
  const more = (): boolean => !stopped && Date.now() < until && sent < options.maxRequests;

  const client = async (): Promise<void> => {
    while (more()) {
      sent += 1;
      try {
        const response = await pool.request({
          method: 'GET',
          path: options.path ?? '/version',
          headersTimeout: 10_000,
          bodyTimeout: 10_000,
        });
        const body = await response.body.text();
        if (response.statusCode === 200) {
          result.ok += 1;
          result.bodies.set(body, (result.bodies.get(body) ?? 0) + 1);
        } else {
          fail(result, `HTTP ${response.statusCode}: ${body.slice(0, 200)}`);
        }
      } catch (err) {
        fail(result, `${(err as { code?: string }).code ?? ''} ${(err as Error).message}`);
      }
    }
  };
  const done = Promise.all(Array.from({ length: options.connections }, client))
    .then(() => pool.close())
    .then(() => result);
  return {
    done,
    progress: result,
    stop: () => {
      stopped = true;
    },
  };
}

function fail(result: LoadResult, message: string): void {
  result.failed += 1;
  if (result.failures.length < 10) result.failures.push(message);
}
