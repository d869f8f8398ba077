// Switching under load: 256 keep-alive clients hammer the proxy while the router flips between two
// real backends 200 times. Nothing may fail, both colors must serve, and every request that was in
// flight at a switch must complete with a 200 and its full body. Bounded in requests and in time.
import { expect } from 'chai';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Pool } from 'undici';
import type { Color } from '../common/types.js';
import { Router } from '../proxy/router.js';
import { closeServer, createProxyServer, listen } from '../proxy/server.js';
import type { DrainResult } from '../proxy/target.js';
import { slowBody, startBackendProcess, type BackendProcess } from './harness/http-backends.js';
import { waitForCondition } from './harness/wait.js';

const CLIENTS = 256;
const SWITCHES = 200;
/**
 * Answers the load must complete between two switches: each switch is crossed by load however
 * fast or busy the machine is. Before the first switch and after the last, every client answers
 * about once more, so both edges see traffic.
 */
const ANSWERS_BETWEEN_SWITCHES = 16;
const ANSWERS_AT_THE_EDGES = 256;
/**
 * Hard caps: the load stops at whichever comes first. The wall cap only guards against a runaway:
 * the switcher stops the load once its last switch has been crossed.
 */
const MAX_REQUESTS = 300_000;
const MAX_WALL_MS = 60_000;
/**
 * What a request may take before it counts as lost. The test is about requests failing, not about
 * latency: on a machine shared by several test runs one answer can take seconds, which is slow but
 * not lost.
 */
const REQUEST_DEADLINE_MS = 30_000;
/** Every 8th request is slow (its body arrives in two parts), so switches land mid-response. */
const SLOW_EVERY = 8;
const SLOW_MS = 40;
/** Warm-up: how long each request holds its connection, and how long opening them all may take. */
const WARM_HOLD_MS = 500;
const WARM_DEADLINE_MS = 60_000;

interface Sample {
  start: number;
  end: number;
  status: number;
  color: Color | null;
  bodyOk: boolean;
  error: string | null;
}

interface LoadState {
  stopAt: number;
  sent: number;
  samples: Sample[];
}

function apiHandler(_req: IncomingMessage, res: ServerResponse): void {
  res.end('{}');
}

async function oneRequest(client: Pool, slow: boolean): Promise<Sample> {
  const start = performance.now();
  try {
    const res = await client.request({
      path: slow ? `/slow?ms=${SLOW_MS}` : '/',
      method: 'GET',
      headersTimeout: REQUEST_DEADLINE_MS,
      bodyTimeout: REQUEST_DEADLINE_MS,
    });
    const body = await res.body.text();
    const color = (res.headers['x-backend-color'] as Color | undefined) ?? null;
    return {
      start,
      end: performance.now(),
      status: res.statusCode,
      color,
      bodyOk: bodyMatches(body, color, slow),
      error: null,
    };
  } catch (err) {
    return { start, end: performance.now(), status: 0, color: null, bodyOk: false, error: String(err) };
  }
}

function bodyMatches(body: string, color: Color | null, slow: boolean): boolean {
  if (!color) return false;
  if (slow) {
    const { first, rest } = slowBody(color);
    return body === first + rest;
  }
  return (JSON.parse(body) as { color?: string }).color === color;
}

async function client(pool: Pool, index: number, state: LoadState): Promise<void> {
  for (let n = index; performance.now() < state.stopAt && state.sent < MAX_REQUESTS; n += 1) {
    state.sent += 1;
    state.samples.push(await oneRequest(pool, n % SLOW_EVERY === 0));
  }
}

async function switcher(
  router: Router,
  backends: { blue: BackendProcess; green: BackendProcess },
  state: LoadState,
): Promise<{ times: number[]; drains: Promise<DrainResult | null>[] }> {
  const times: number[] = [];
  const drains: Promise<DrainResult | null>[] = [];
  await answered(state, ANSWERS_AT_THE_EDGES);
  for (let i = 0; i < SWITCHES; i += 1) {
    const to = i % 2 === 0 ? backends.green : backends.blue;
    times.push(performance.now());
    drains.push(router.setActive(to.color, to.port));
    await answered(state, ANSWERS_BETWEEN_SWITCHES);
  }
  await answered(state, ANSWERS_AT_THE_EDGES);
  return { times, drains };
}

/** Resolves once the load has completed `count` more requests. */
async function answered(state: LoadState, count: number): Promise<void> {
  const target = state.samples.length + count;
  await waitForCondition(`${count} more answers under load`, () => state.samples.length >= target, REQUEST_DEADLINE_MS);
}

/**
 * Opens every client's keep-alive connection (and the proxy's to blue) before the measured load.
 * This one process is client, proxy and backends, and a node process accepts one pending
 * connection per turn of its event loop: under load, on a busy machine, 256 connections opened at
 * once waited seconds in the proxy's accept queue (seen with ss and strace), past the 5s headers
 * deadline, although they have nothing to do with switching. Each warm-up request holds its
 * connection until all are open, so each client opens its own.
 */
async function warmUp(pool: Pool): Promise<void> {
  const statuses = await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      const res = await pool.request({
        path: `/slow?ms=${WARM_HOLD_MS}`,
        method: 'GET',
        headersTimeout: WARM_DEADLINE_MS,
        bodyTimeout: WARM_DEADLINE_MS,
      });
      await res.body.text();
      return res.statusCode;
    }),
  );
  expect(statuses.filter((s) => s !== 200)).to.deep.equal([]);
}

describe('proxy switch under load', function () {
  this.timeout(MAX_WALL_MS + WARM_DEADLINE_MS + REQUEST_DEADLINE_MS);
  let blue: BackendProcess;
  let green: BackendProcess;
  let router: Router;
  let server: Server;
  let pool: Pool;

  before(async () => {
    [blue, green] = await Promise.all([startBackendProcess('blue'), startBackendProcess('green')]);
    router = new Router({ drainTimeoutMs: 5_000 });
    await router.setActive('blue', blue.port);
    server = createProxyServer({ router, apiHandler, which: 'public' });
    const { port } = await listen(server, '127.0.0.1', 0);
    pool = new Pool(`http://127.0.0.1:${port}`, { connections: CLIENTS, pipelining: 1 });
    let accepted = 0;
    server.on('connection', () => (accepted += 1));
    await warmUp(pool);
    expect(accepted, 'one proxy connection per client').to.equal(CLIENTS);
  });

  after(async () => {
    await pool.close();
    await closeServer(server, 2_000);
    await router.close(2_000);
    await Promise.all([blue?.close(), green?.close()]);
  });

  it(`switches ${SWITCHES} times under ${CLIENTS} keep-alive clients without failing a request`, async () => {
    const state: LoadState = { stopAt: performance.now() + MAX_WALL_MS, sent: 0, samples: [] };
    const clients = Array.from({ length: CLIENTS }, (_, i) => client(pool, i, state));
    const { times, drains } = await switcher(router, { blue, green }, state);
    state.stopAt = Math.min(state.stopAt, performance.now());
    await Promise.all(clients);
    const { samples } = state;

    const failed = samples.filter((s) => s.status !== 200 || !s.bodyOk);
    expect(failed.slice(0, 5), `${failed.length} of ${samples.length} requests failed`).to.deep.equal([]);
    expect(samples.filter((s) => s.color === 'blue').length, 'blue served').to.be.greaterThan(0);
    expect(samples.filter((s) => s.color === 'green').length, 'green served').to.be.greaterThan(0);
    expect(times).to.have.length(SWITCHES);

    let straddling = 0;
    for (const t of times) {
      const inFlight = samples.filter((s) => s.start < t && s.end > t);
      expect(inFlight.length, 'requests in flight at a switch').to.be.greaterThan(0);
      expect(inFlight.every((s) => s.status === 200 && s.bodyOk)).to.equal(true);
      straddling += inFlight.length;
    }
    const results = await Promise.all(drains);
    for (const result of results) expect(result).to.include({ idle: true, inFlight: 0 });
    expect(router.snapshot().draining).to.deep.equal([]);
    console.log(`      ${samples.length} requests, ${straddling} in flight across ${SWITCHES} switches, 0 failed`);
  });
});
