// Proxy benchmark: the bare backend, nginx as a reverse proxy and our proxy (the real Router and
// createProxyServer) with its metrics off and on, measured in the same run, interleaved round by
// round, with wrk at 64 and 256 connections; then our proxy's RSS under a bounded load. See bench/README.md.
//   node dist/bench/proxy.js [--duration 8] [--rounds 3] [--soak | --soak-seconds N] [--nginx-workers 1]
import { parseArgs } from 'node:util';
import { BenchSetupError, cpuMs, findExecutable, rssKiB, startNginx, startRole, type Running } from './processes.js';
import { runWrk, type WrkResult } from './wrk.js';

const CONNECTIONS = [64, 256] as const;
const WARMUP_SEC = 2;
const SOAK_CONNECTIONS = 64;
/** `--soak`: the bounded long run the issue asks for. */
const LONG_SOAK_SEC = 300;
const SHORT_SOAK_SEC = 30;

interface Options {
  durationSec: number;
  rounds: number;
  soakSec: number;
  nginxWorkers: number;
  threads: number;
}

/** ours: metrics off; metered: the same proxy measuring every request as the daemon does. */
type Subject = 'backend' | 'nginx' | 'ours' | 'metered';

/** A wrk run plus the CPU the measured process spent per request meanwhile. */
interface Measured extends WrkResult {
  cpuUsPerRequest: number;
}
const SUBJECTS: readonly Subject[] = ['backend', 'nginx', 'ours', 'metered'];
/** Measuring on the request path may cost at most this share of throughput (issue 13). */
const METRICS_BUDGET = 0.05;

function readOptions(): Options {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '8' },
      rounds: { type: 'string', default: '3' },
      soak: { type: 'boolean', default: false },
      'soak-seconds': { type: 'string' },
      'nginx-workers': { type: 'string', default: '1' },
      threads: { type: 'string', default: '2' },
    },
  });
  const int = (name: string, value: string | undefined, min: number, max: number): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new BenchSetupError(`--${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
    return n;
  };
  return {
    durationSec: int('duration', values.duration, 1, 600),
    rounds: int('rounds', values.rounds, 1, 20),
    soakSec:
      values['soak-seconds'] !== undefined
        ? int('soak-seconds', values['soak-seconds'], 1, 3_600)
        : values.soak
          ? LONG_SOAK_SEC
          : SHORT_SOAK_SEC,
    nginxWorkers: int('nginx-workers', values['nginx-workers'], 1, 64),
    threads: int('threads', values.threads, 1, 64),
  };
}

/** Exits non-zero, naming the packages, when a tool is missing: this script installs nothing. */
function requireTools(): { wrk: string; nginx: string } {
  const wrk = findExecutable('wrk');
  const nginx = findExecutable('nginx');
  if (!wrk || !nginx) {
    const missing = [!nginx && 'nginx', !wrk && 'wrk'].filter(Boolean).join(' and ');
    process.stderr.write(
      `bench/proxy needs ${missing}, which this script does not install. Install them with:\n` +
        '  apt-get install -y nginx wrk\n' +
        '(nginx is run with its own temporary prefix on 127.0.0.1 only; no service is started.)\n',
    );
    process.exit(2);
  }
  return { wrk, nginx };
}

async function main(): Promise<void> {
  const options = readOptions();
  const tools = requireTools();
  const started: Running[] = [];
  const stopAll = async (): Promise<void> => {
    for (const r of started.reverse()) await r.stop().catch(() => undefined);
  };
  process.once('SIGINT', () => void stopAll().finally(() => process.exit(130)));
  try {
    const backend = await startRole('backend', ['backend', '0']);
    started.push(backend);
    const nginx = await startNginx(tools.nginx, backend.port, options.nginxWorkers);
    started.push(nginx);
    const ours = await startRole('ours', ['proxy', '0', String(backend.port)]);
    started.push(ours);
    const metered = await startRole('metered', ['metered', '0', String(backend.port)]);
    started.push(metered);
    const subjects: Record<Subject, Running> = { backend, nginx, ours, metered };
    await checkAnswers(subjects);
    printSetup(options);
    await compare(tools.wrk, subjects, options);
    await soak(tools.wrk, ours, options);
  } finally {
    await stopAll();
  }
}

async function checkAnswers(subjects: Record<Subject, Running>): Promise<void> {
  for (const subject of SUBJECTS) {
    const res = await fetch(url(subjects[subject].port), { signal: AbortSignal.timeout(5_000) });
    const body = await res.text();
    if (res.status !== 200 || body !== 'hello, world\n') {
      throw new BenchSetupError(
        `${subject} answered ${res.status} ${JSON.stringify(body.slice(0, 200))} instead of the backend's 200`,
      );
    }
  }
}

function printSetup(o: Options): void {
  console.log(
    `node ${process.version}; wrk -t${o.threads} --latency, ${o.durationSec}s per run, ${o.rounds} ` +
      'rounds interleaved; ' +
      `nginx worker_processes ${o.nginxWorkers}; our proxy: one node process; backend: one node process`,
  );
}

/** One wrk run against `subject`, with the CPU its process (nginx: master and workers) used meanwhile. */
async function measure(
  wrk: string,
  subject: Running,
  connections: number,
  o: Options,
  durationSec: number,
): Promise<Measured> {
  const before = await cpuMs(subject.pid);
  const result = await runWrk({ wrk, url: url(subject.port), connections, threads: o.threads, durationSec });
  const spent = (await cpuMs(subject.pid)) - before;
  return { ...result, cpuUsPerRequest: result.requests > 0 ? (spent * 1000) / result.requests : NaN };
}

async function compare(wrk: string, subjects: Record<Subject, Running>, o: Options): Promise<void> {
  const results = new Map<string, Measured[]>();
  // Warm up at the highest count, so every proxy has its upstream connections open and its code hot.
  for (const subject of SUBJECTS) await measure(wrk, subjects[subject], Math.max(...CONNECTIONS), o, WARMUP_SEC);
  for (let round = 0; round < o.rounds; round += 1) {
    for (const connections of CONNECTIONS) {
      // Rotate the order each round so no subject always runs first (or on a warmer machine).
      const order = SUBJECTS.map((_, i) => SUBJECTS[(i + round) % SUBJECTS.length] as Subject);
      for (const subject of order) {
        const result = await measure(wrk, subjects[subject], connections, o, o.durationSec);
        const key = `${subject}@${connections}`;
        results.set(key, [...(results.get(key) ?? []), result]);
        process.stderr.write(
          `round ${round + 1} c=${connections} ${subject}: ${Math.round(result.requestsPerSec)} req/s, ` +
            `p99 ${result.p99Ms.toFixed(2)}ms, ${result.errors} errors, ` +
            `${result.cpuUsPerRequest.toFixed(1)} CPU us/req\n`,
        );
      }
    }
  }
  for (const connections of CONNECTIONS) printTable(connections, results);
}

function printTable(connections: number, results: Map<string, Measured[]>): void {
  const summary = (s: Subject): Measured => summarize(results.get(`${s}@${connections}`) ?? []);
  const nginx = summary('nginx');
  console.log(`\n${connections} connections (median of rounds; errors summed; CPU: the subject's own processes)`);
  console.log(
    `${pad('subject', 9)}${pad('req/s', 10)}${pad('p50 ms', 9)}${pad('p99 ms', 9)}${pad('errors', 8)}` +
      `${pad('req/s vs nginx', 16)}${pad('p99 vs nginx', 14)}CPU us/req`,
  );
  for (const subject of SUBJECTS) {
    const r = summary(subject);
    console.log(
      `${pad(subject, 9)}${pad(String(Math.round(r.requestsPerSec)), 10)}` +
        `${pad(r.p50Ms.toFixed(2), 9)}${pad(r.p99Ms.toFixed(2), 9)}` +
        `${pad(String(r.errors), 8)}${pad(`${(r.requestsPerSec / nginx.requestsPerSec).toFixed(2)}x`, 16)}` +
        `${pad(`${(r.p99Ms / nginx.p99Ms).toFixed(2)}x`, 14)}${r.cpuUsPerRequest.toFixed(1)}`,
    );
  }
  printMetricsCost(summary('ours'), summary('metered'), nginx);
  if (connections === 64) {
    const ours = summary('ours');
    const met = ours.requestsPerSec >= 0.5 * nginx.requestsPerSec && ours.p99Ms <= 2 * nginx.p99Ms && ours.errors === 0;
    console.log(`goal at 64 connections (>= 0.5x nginx req/s, p99 <= 2x nginx, 0 errors): ${met ? 'met' : 'NOT met'}`);
  }
}

/**
 * What measuring every request costs: metered vs ours, beside where both stand against nginx. Judged
 * on CPU per request, the steadier figure on a shared machine (a proxy that saturates its core
 * serves requests/s in inverse proportion to it); the req/s ratio is shown beside it.
 */
function printMetricsCost(off: Measured, on: Measured, nginx: Measured): void {
  const ratio = on.requestsPerSec / off.requestsPerSec;
  const cpu = on.cpuUsPerRequest / off.cpuUsPerRequest - 1;
  const signed = `${cpu >= 0 ? '+' : ''}${(cpu * 100).toFixed(1)}%`;
  console.log(
    `metrics on/off: CPU us/req ${signed}, req/s ${ratio.toFixed(3)}x ` +
      `(vs nginx: off ${(off.requestsPerSec / nginx.requestsPerSec).toFixed(2)}x, ` +
      `on ${(on.requestsPerSec / nginx.requestsPerSec).toFixed(2)}x); ` +
      `budget (at most ${METRICS_BUDGET * 100}% more CPU per request): ${cpu <= METRICS_BUDGET ? 'met' : 'NOT met'}`,
  );
}

function summarize(runs: Measured[]): Measured {
  const median = (pick: (r: Measured) => number): number => {
    const sorted = runs.map(pick).sort((a, b) => a - b);
    return sorted[Math.floor((sorted.length - 1) / 2)] ?? NaN;
  };
  return {
    requestsPerSec: median((r) => r.requestsPerSec),
    p50Ms: median((r) => r.p50Ms),
    p99Ms: median((r) => r.p99Ms),
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
    requests: runs.reduce((sum, r) => sum + r.requests, 0),
    cpuUsPerRequest: median((r) => r.cpuUsPerRequest),
  };
}

/** Our proxy's RSS, sampled while wrk keeps it busy for the whole (bounded) soak. */
async function soak(wrk: string, ours: Running, o: Options): Promise<void> {
  const everyMs = Math.max(1_000, Math.round((o.soakSec * 1000) / 30));
  const samples: Array<{ atSec: number; kib: number }> = [];
  const start = performance.now();
  const sample = async (): Promise<void> => {
    samples.push({ atSec: Math.round((performance.now() - start) / 1000), kib: await rssKiB(ours.pid) });
  };
  await sample();
  const timer = setInterval(() => void sample().catch(() => undefined), everyMs);
  let result: WrkResult;
  try {
    result = await runWrk({
      wrk,
      url: url(ours.port),
      connections: SOAK_CONNECTIONS,
      threads: o.threads,
      durationSec: o.soakSec,
    });
  } finally {
    clearInterval(timer);
  }
  await sample();
  printSoak(samples, result, o.soakSec);
}

function printSoak(samples: Array<{ atSec: number; kib: number }>, result: WrkResult, soakSec: number): void {
  const mib = (kib: number): string => `${(kib / 1024).toFixed(1)} MiB`;
  const first = samples[0] as { kib: number };
  const last = samples[samples.length - 1] as { kib: number };
  // The first fifth is ramp-up (pools, buffers, JIT); "flat" is judged from there to the end.
  const settled = samples.find((s) => s.atSec >= soakSec / 5) ?? first;
  const max = Math.max(...samples.map((s) => s.kib));
  console.log(
    `\nsoak: our proxy, ${SOAK_CONNECTIONS} connections for ${soakSec}s: ${Math.round(result.requestsPerSec)} req/s, ` +
      `${result.requests} requests, ${result.errors} errors`,
  );
  console.log(
    `RSS start ${mib(first.kib)}, at ${Math.round(soakSec / 5)}s ${mib(settled.kib)}, end ` +
      `${mib(last.kib)}, max ${mib(max)}; ` +
      `change from ${Math.round(soakSec / 5)}s to end ${(((last.kib - settled.kib) / settled.kib) * 100).toFixed(1)}%`,
  );
  console.log(`RSS samples (s:MiB): ${samples.map((s) => `${s.atSec}:${(s.kib / 1024).toFixed(0)}`).join(' ')}`);
}

function url(port: number): string {
  return `http://127.0.0.1:${port}/`;
}

function pad(text: string, width: number): string {
  return text.padEnd(width);
}

main().catch((err: Error) => {
  process.stderr.write(`bench/proxy: ${err.message}\n`);
  process.exit(1);
});
