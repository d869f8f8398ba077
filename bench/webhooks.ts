// Webhook benchmark, against the real `hypervisor` binary on loopback (process units, embedded store):
//  1. signed deliveries per second the endpoint accepts, replays included (a share of the requests
//     re-send an earlier delivery id and get `duplicate: true`);
//  2. the pipeline's overhead for a tag: from the signed push to the release record saying
//     succeeded, minus what BUILD and TEST themselves took (the rest is queueing, fetching the
//     mirror, checking out, renaming the artifact and writing records).
//   node dist/bench/webhooks.js [--seconds 5] [--connections 32] [--replay-every 4] [--tags 3]
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { simpleGit } from 'simple-git';
import { ApiClient, ApiError } from '../cli/client.js';
import type { ReleaseRecord } from '../common/types.js';
import { scratchDir, startDaemonProcess, type DaemonProcess } from '../harness/daemon-process.js';
import { createExampleRepo, type ExampleRepo } from '../harness/example-repo.js';
import { fixture, post, signed, tagPush, TEST_SECRET, type Delivery } from '../harness/github-deliveries.js';
import { freePorts } from '../harness/ports.js';

const REPOSITORY = 'bench-org/backend';
const FINAL = new Set(['succeeded', 'failed', 'rejected']);
const BUILD_DEADLINE_MS = 120_000;

interface Options {
  seconds: number;
  connections: number;
  replayEvery: number;
  tags: number;
}

interface Host {
  daemon: DaemonProcess;
  url: string;
  socket: string;
  repo: ExampleRepo;
}

function readOptions(): Options {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '5' },
      connections: { type: 'string', default: '32' },
      'replay-every': { type: 'string', default: '4' },
      tags: { type: 'string', default: '3' },
    },
  });
  const int = (name: string, value: string | undefined, min: number, max: number): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new Error(`--${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
    return n;
  };
  return {
    seconds: int('seconds', values.seconds, 1, 120),
    connections: int('connections', values.connections, 1, 512),
    replayEvery: int('replay-every', values['replay-every'], 2, 1000),
    tags: int('tags', values.tags, 1, 20),
  };
}

async function startHost(dir: string): Promise<Host> {
  const repo = await createExampleRepo(path.join(dir, 'backend'));
  const [pub, blue, green] = await freePorts(3);
  const socket = path.join(dir, 'admin.sock');
  const secretFile = path.join(dir, 'webhook-secret');
  await writeFile(secretFile, `${TEST_SECRET}\n`, { mode: 0o600 });
  const configPath = path.join(dir, 'hypervisor.yaml');
  await writeFile(
    configPath,
    `
app: { name: bench-${process.pid}, repo: ${repo.path}, build: { timeout: 2m }, test: { timeout: 2m } }
colors: { blue: { port: ${blue} }, green: { port: ${green} } }
listen: { public: '127.0.0.1:${pub}', preview: false, admin: ${socket} }
root: ${path.join(dir, 'var')}
units: { driver: process }
store: { kind: embedded, path: ${path.join(dir, 'hypervisor.db')} }
github: { repository: ${REPOSITORY}, secretFile: ${secretFile} }
policy: { autoStage: false }
`,
  );
  const url = `http://127.0.0.1:${pub}`;
  return { daemon: await startDaemonProcess(configPath, {}, url), url, socket, repo };
}

/** Deliveries the endpoint stores and acknowledges (pings and branch pushes), every n-th one a replay. */
async function throughput(host: Host, options: Options): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections });
  const sent: Delivery[] = [];
  const statuses = new Map<string, number>();
  const latencies: number[] = [];
  let issued = 0;
  const next = (): Delivery => {
    issued++;
    if (issued % options.replayEvery === 0 && sent.length > 0) return sent[Math.floor(Math.random() * sent.length)]!;
    const body =
      issued % 2 === 0
        ? fixture('ping-payload.json', REPOSITORY)
        : fixture('push-with-new-branch.payload.json', REPOSITORY);
    const delivery = signed(TEST_SECRET, issued % 2 === 0 ? 'ping' : 'push', body, randomUUID());
    if (sent.length < 10_000) sent.push(delivery);
    return delivery;
  };
  const deadline = performance.now() + options.seconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const answer = await post(host.url, next(), 10_000, agent);
      const key = answer.json.duplicate === true ? `${answer.status} duplicate` : String(answer.status);
      statuses.set(key, (statuses.get(key) ?? 0) + 1);
      latencies.push(answer.ms);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: options.connections }, worker));
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  const accepted = [...statuses].filter(([k]) => k.startsWith('200')).reduce((n, [, v]) => n + v, 0);
  const duplicates = statuses.get('200 duplicate') ?? 0;
  console.log(
    `webhooks: ${seconds.toFixed(1)} s, ${options.connections} connections, 1 in ` +
      `${options.replayEvery} a replay of an earlier delivery`,
  );
  console.log(
    `  accepted ${Math.round(accepted / seconds)} signed deliveries/s ` +
      `(${Math.round((accepted - duplicates) / seconds)}/s new, ${Math.round(duplicates / seconds)}/s duplicates)`,
  );
  console.log(`  answers: ${[...statuses].map(([k, v]) => `${k}: ${v}`).join(', ')}`);
  console.log(
    `  latency: p50 ${percentile(latencies, 0.5).toFixed(1)} ms, p99 ` +
      `${percentile(latencies, 0.99).toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms`,
  );
}

/** One tag at a time: push, wait for the record, and split the time into scripts and the rest. */
async function overhead(host: Host, tags: number): Promise<void> {
  console.log(`pipeline overhead per tag (signed push -> release succeeded, minus BUILD and TEST), ${tags} tag(s):`);
  const overheads: number[] = [];
  for (let i = 0; i < tags; i++) {
    const tag = await host.repo.release(`26.11.27.${i}`);
    const commit = (await simpleGit(host.repo.path).revparse([`${tag}^{commit}`])).trim();
    const sentAt = Date.now();
    const answer = await post(host.url, signed(TEST_SECRET, 'push', tagPush(tag, commit, REPOSITORY)));
    if (answer.status !== 202)
      throw new Error(`push of ${tag} answered ${answer.status}: ${JSON.stringify(answer.json)}`);
    const record = await settled(host, tag);
    if (record.status !== 'succeeded' || !record.build || !record.test)
      throw new Error(`${tag} ${record.status}: ${record.error}`);
    const done = Date.parse(record.updatedAt);
    const scripts = record.build.durationMs + record.test.durationMs;
    const total = done - sentAt;
    const before = Date.parse(record.build.startedAt) - sentAt;
    const between = Date.parse(record.test.startedAt) - Date.parse(record.build.finishedAt);
    const after = done - Date.parse(record.test.finishedAt);
    overheads.push(total - scripts);
    console.log(
      `  ${tag}${i === 0 ? ' (cold mirror)' : ''}: total ${total} ms, scripts ${scripts} ms (BUILD ` +
        `${record.build.durationMs}, TEST ${record.test.durationMs}), ` +
        `overhead ${total - scripts} ms (before BUILD ${before}, between ${between}, after TEST ${after})`,
    );
  }
  const warm = overheads.slice(1);
  if (warm.length > 0) console.log(`  median overhead with a warm mirror: ${percentile(warm, 0.5)} ms`);
}

/** Polls the release record over the admin socket, as hyperctl would, until it is final. */
async function settled(host: Host, tag: string): Promise<ReleaseRecord> {
  const client = new ApiClient({ socketPath: host.socket });
  try {
    const deadline = Date.now() + BUILD_DEADLINE_MS;
    while (Date.now() < deadline) {
      const release = await client.get<{ release: ReleaseRecord }>(`/releases/${tag}`).then(
        (answer) => answer.release,
        (err: unknown) => {
          if (err instanceof ApiError && err.status === 404) return null; // no record yet
          throw err;
        },
      );
      if (release && FINAL.has(release.status)) return release;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`${tag} was not built within ${BUILD_DEADLINE_MS} ms`);
  } finally {
    await client.close();
  }
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
}

async function main(): Promise<void> {
  const options = readOptions();
  const scratch = await scratchDir('hv-bench-webhooks-');
  let host: Host | null = null;
  try {
    host = await startHost(scratch.dir);
    await throughput(host, options);
    await overhead(host, options.tags);
  } finally {
    await host?.daemon.stop();
    await scratch.remove();
  }
}

main().catch((err: unknown) => {
  console.error(`bench/webhooks: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
