// Runs wrk against a loopback URL and reads its summary: requests/s, latency percentiles, errors.
import { execFile } from 'node:child_process';

export interface WrkResult {
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Socket errors (connect, read, write, timeout) plus non-2xx/3xx answers. */
  errors: number;
  requests: number;
}

export interface WrkRun {
  wrk: string;
  url: string;
  connections: number;
  threads: number;
  durationSec: number;
}

/** wrk's own timeout for a request; the run as a whole gets its duration plus this margin. */
const REQUEST_TIMEOUT_SEC = 5;

export function runWrk(run: WrkRun): Promise<WrkResult> {
  const args = [
    '-t',
    String(run.threads),
    '-c',
    String(run.connections),
    '-d',
    `${run.durationSec}s`,
    '--timeout',
    `${REQUEST_TIMEOUT_SEC}s`,
    '--latency',
    run.url,
  ];
  return new Promise((resolve, reject) => {
    execFile(run.wrk, args, { timeout: (run.durationSec + REQUEST_TIMEOUT_SEC + 10) * 1000 }, (err, stdout) => {
      if (err) {
        reject(new Error(`wrk ${args.join(' ')} failed: ${err.message}`));
        return;
      }
      try {
        resolve(parseWrk(stdout));
      } catch (parseErr) {
        reject(parseErr as Error);
      }
    });
  });
}

export function parseWrk(out: string): WrkResult {
  const number = (pattern: RegExp, what: string): RegExpExecArray => {
    const match = pattern.exec(out);
    if (!match) throw new Error(`wrk output has no ${what}:\n${out}`);
    return match;
  };
  const rps = number(/^Requests\/sec:\s+([\d.]+)/m, 'Requests/sec');
  const p50 = number(/^\s+50%\s+([\d.]+)(us|ms|s)\s*$/m, '50% latency');
  const p99 = number(/^\s+99%\s+([\d.]+)(us|ms|s)\s*$/m, '99% latency');
  const requests = number(/^\s+(\d+) requests in/m, 'request count');
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  const socketErrors = socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  return {
    requestsPerSec: Number(rps[1]),
    p50Ms: toMs(Number(p50[1]), p50[2] as string),
    p99Ms: toMs(Number(p99[1]), p99[2] as string),
    errors: socketErrors + (non2xx ? Number(non2xx[1]) : 0),
    requests: Number(requests[1]),
  };
}

function toMs(value: number, unit: string): number {
  return unit === 'us' ? value / 1000 : unit === 's' ? value * 1000 : value;
}
