// What the proxy measures, end to end: the real `hypervisor` binary with the systemd driver against
// a real `systemd --user`, the example backend built from real tags, real traffic over loopback.
// The metrics are read back with a real Prometheus text-format parser and held against the
// requests this test sent.
import { expect } from 'chai';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { StatusAnswer, TrafficAnswer } from '../api/wire.js';
import type { Color, Deployment, EventRecord } from '../common/types.js';
import { SystemdDriver } from '../units/systemd-driver.js';
import { PASSWORD, request, type Answer } from './api-harness.js';
import { runBin, scratchDir, startDaemonProcess, type DaemonProcess } from '../harness/daemon-process.js';
import { createExampleRepo } from '../harness/example-repo.js';
import { freePort } from '../harness/ports.js';
import { writeTestConfig } from './harness/daemon-config.js';
import { startLoad } from './harness/load.js';
import { Scrape } from './harness/prometheus.js';
import { sharedUserManager, type SharedUserManager } from './harness/systemd-user.js';
import { waitFor } from './harness/wait.js';

const V1 = 'v26.11.27.0';
const V2 = 'v26.11.27.1';
/** gates.verify's window: long enough for the load below to reach minRequests, short for the test. */
const WINDOW_S = 20;

describe('traffic measured by the proxy (real daemon, real systemd units, real traffic)', function () {
  this.timeout(240_000);
  let manager: SharedUserManager;
  let scratch: { dir: string; remove(): Promise<void> };
  let daemon: DaemonProcess;
  let appName: string;
  let publicUrl: string;
  let publicPort: number;
  let metricsUrl: string;
  let socket: string;
  let viewer: string;
  let envRoot: string;
  let cliEnv: NodeJS.ProcessEnv;

  const admin = async <T>(method: string, route: string, body?: unknown): Promise<T> => {
    const answer = await request<T>({ socketPath: socket }, method, route, body === undefined ? {} : { body });
    if (answer.status >= 300) throw new Error(`${method} ${route}: ${answer.status} ${answer.text}`);
    return answer.json;
  };
  /** A GET on the public listener, as the viewer or (`null`) without a token. */
  const asViewer = <T>(route: string, token: string | null = viewer): Promise<Answer<T>> =>
    request<T>({ host: '127.0.0.1', port: publicPort }, 'GET', route, token === null ? {} : { token });
  const status = (): Promise<StatusAnswer> => admin<StatusAnswer>('GET', '/status');
  const scrapeListener = async (): Promise<Scrape> => {
    const res = await fetch(metricsUrl, { signal: AbortSignal.timeout(5_000) });
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.equal('text/plain; version=0.0.4; charset=utf-8');
    return new Scrape(await res.text());
  };
  const get = async (route: string, method = 'GET'): Promise<number> =>
    (await fetch(`${publicUrl}${route}`, { method, signal: AbortSignal.timeout(5_000) })).status;
  const ready = (s: StatusAnswer, color: Color, tag: string): boolean =>
    s.status.colors?.[color]?.phase === 'Ready' && s.status.colors[color].runningTag === tag;

  before(async () => {
    manager = await sharedUserManager();
    scratch = await scratchDir('hv-traffic-');
    const repo = await createExampleRepo(path.join(scratch.dir, 'backend'));
    await repo.release(V1.slice(1));
    await repo.release(V2.slice(1));
    const metricsPort = await freePort();
    envRoot = path.join(scratch.dir, 'env');
    const config = await writeTestConfig({
      appName: `traffic-${process.pid}`,
      dir: scratch.dir,
      repo: repo.path,
      driver: 'systemd',
      preview: true,
      scriptTimeouts: { build: '2m', test: '2m' },
      intervals: { health: '500ms', reconcile: '1s' },
      envRoot,
      extra: [
        'proxy: { drainTimeout: 2s }',
        'policy: { autoStage: false }',
        `metrics: { listen: '127.0.0.1:${metricsPort}' }`,
        `gates: { verify: { window: ${WINDOW_S}s, minRequests: 20, maxErrorRate: 1%, maxP99: 2s } }`,
      ].join('\n'),
    });
    ({ appName, socket, publicUrl } = config);
    publicPort = config.ports.public;
    metricsUrl = `http://127.0.0.1:${metricsPort}/hypervisor/metrics`;
    daemon = await startDaemonProcess(config.path, manager.env, publicUrl);
    await admin('POST', '/users', { username: 'vera', password: PASSWORD, roles: ['viewer'] });
    const session = path.join(scratch.dir, 'session.json');
    cliEnv = { ...process.env, HYPER_CLI_SESSION: session, HYPER_SERVER: publicUrl };
    const login = await runBin('hyper-cli', ['login', '--user', 'vera', '--password-stdin'], cliEnv, PASSWORD);
    expect(login.code, login.stderr + login.stdout).to.equal(0);
    viewer = (JSON.parse(await readFile(session, 'utf8')) as { token: string }).token;

    await admin('PUT', '/desired', { active: 'blue', colors: { blue: { tag: V1 }, green: { tag: V2 } } });
    await waitFor(
      'blue serving v1 and green Ready at v2',
      async () => {
        const s = await status();
        return s.status.active === 'blue' && ready(s, 'blue', V1) && ready(s, 'green', V2) ? s : null;
      },
      180_000,
    );
  });

  after(async () => {
    await daemon?.stop();
    if (manager) {
      const driver = new SystemdDriver({ appName, env: manager.env });
      for (const color of ['blue', 'green'] as const) await driver.uninstall(color).catch(() => undefined);
    }
    await manager?.release();
    await scratch?.remove();
  });

  it('counts every request it proxied, per color, status and method, and serves the metrics three ways', async () => {
    const before = await scrapeListener();
    const load = startLoad({ origin: publicUrl, path: '/', connections: 4, durationMs: 30_000, maxRequests: 150 });
    const sent = await load.done;
    expect(sent.ok, sent.failures.join('\n')).to.equal(150);
    for (let i = 0; i < 20; i += 1) expect(await get('/no-such-page')).to.equal(404);
    for (let i = 0; i < 10; i += 1) expect(await get('/version', 'HEAD')).to.equal(200);

    const after = await scrapeListener();
    const delta = (labels: Record<string, string>): number =>
      after.value('hypervisor_http_requests_total', labels) - before.value('hypervisor_http_requests_total', labels);
    expect(delta({ color: 'blue', code: '200', method: 'GET' })).to.equal(150);
    expect(delta({ color: 'blue', code: '404', method: 'GET' })).to.equal(20);
    expect(delta({ color: 'blue', code: '200', method: 'HEAD' })).to.equal(10);
    expect(after.value('hypervisor_http_requests_total', { color: 'green' })).to.equal(0);
    expect(after.type('hypervisor_http_request_duration_seconds')).to.equal('HISTOGRAM');
    const answered = (s: Scrape): number => s.histogramCount('hypervisor_http_request_duration_seconds');
    expect(answered(after) - answered(before)).to.equal(180);
    expect(after.value('hypervisor_http_in_flight_requests', { color: 'blue' })).to.equal(0);
    expect(after.value('hypervisor_upstream_failures_total', { color: 'blue', reason: 'refused' })).to.equal(0);
    expect(after.value('hypervisor_active_color', { color: 'blue' })).to.equal(1);
    expect(after.value('hypervisor_active_color', { color: 'green' })).to.equal(0);
    expect(after.value('hypervisor_color_ready', { color: 'green' })).to.equal(1);
    expect(after.value('hypervisor_reconcile_total', { result: 'ok' })).to.be.above(0);
    expect(after.type('hypervisor_reconcile_duration_seconds')).to.equal('HISTOGRAM');
    expect(after.type('hypervisor_build_duration_seconds')).to.equal('HISTOGRAM');
    expect(after.value('hypervisor_deploys_total', { outcome: 'promoted' })).to.equal(1);
    expect(after.value('hypervisor_gate_results_total', { gate: 'verify', result: 'failed' })).to.equal(0);

    // The same registry on the admin socket and to a viewer on the public listener; nobody else.
    const fromSocket = await request<string>({ socketPath: socket }, 'GET', '/metrics');
    expect(fromSocket.status).to.equal(200);
    expect(new Scrape(fromSocket.text).value('hypervisor_active_color', { color: 'blue' })).to.equal(1);
    const fromViewer = await asViewer<string>('/metrics');
    expect(fromViewer.status).to.equal(200);
    expect(new Scrape(fromViewer.text).value('hypervisor_http_requests_total', { code: '404' })).to.equal(20);
    expect((await asViewer('/metrics', null)).status).to.equal(401);
  });

  it("shows each color's last hour minute by minute for the dashboard", async () => {
    const history = (await asViewer<TrafficAnswer>('/traffic')).json;
    expect(history.minutes).to.equal(60);
    expect(history.colors.blue).to.have.length(60);
    const total = (color: Color): number => history.colors[color].reduce((sum, m) => sum + m.requests, 0);
    expect(total('blue')).to.equal(180);
    expect(total('green')).to.equal(0);
    const busy = history.colors.blue.filter((m) => m.requests > 0);
    expect(busy.every((m) => m.p99Seconds !== null && m.p99Seconds > 0)).to.equal(true);
    expect(busy.reduce((sum, m) => sum + m.errors, 0)).to.equal(0);
  });

  it('rolls a release that answers 500 back to the color that served before, within the window', async () => {
    // Green's release passes readiness (/ping and /version answer) but fails every ordinary path.
    await writeFile(path.join(envRoot, `fault-${V2.slice(1)}`), '500');
    await waitFor('green answering 500 on its own port', async () => {
      const s = await status();
      const res = await fetch(`http://127.0.0.1:${s.status.colors!.green.port}/`, {
        signal: AbortSignal.timeout(2_000),
      });
      return res.status === 500 && ready(s, 'green', V2) ? true : null;
    });
    const switched = Date.now();
    await admin('POST', '/switch', { to: 'green' });
    const load = startLoad({ origin: publicUrl, path: '/', connections: 4, durationMs: 60_000, maxRequests: 2_000 });
    try {
      await waitFor(
        'traffic back on blue',
        async () => {
          const s = await status();
          return s.status.active === 'blue' && s.revision?.source === 'verify' ? s : null;
        },
        WINDOW_S * 1000,
      );
    } finally {
      load.stop();
    }
    const sent = await load.done;
    expect(Date.now() - switched).to.be.below(WINDOW_S * 1000);
    expect(sent.failed, 'the 500s green answered before the rollback').to.be.above(0);
    expect(await (await fetch(`${publicUrl}/version`)).text()).to.equal(V1.slice(1));

    const { deployments } = await admin<{ deployments: Deployment[] }>('GET', '/deployments');
    const failed = deployments.find((d) => d.color === 'green' && d.tag === V2)!;
    expect(failed.endReason).to.equal('rolled_back');
    const verdict = /^error rate (\d+(?:\.\d+)?)% \((\d+) of (\d+)\) > 1% over \d+ s$/.exec(failed.verdict ?? '');
    expect(verdict, failed.verdict ?? 'no verdict').to.not.equal(null);
    const [, rate, errors, requests] = verdict!.map(Number);
    expect(rate).to.be.above(1);
    expect(requests).to.be.at.least(20);
    expect(rate).to.be.closeTo((100 * errors!) / requests!, 0.01);
    expect(failed.gates.find((g) => g.name === 'verify')).to.deep.include({
      result: 'failed',
      verdict: failed.verdict,
    });
    expect(deployments[0]).to.deep.include({ color: 'blue', tag: V1, endedAt: null, source: 'verify' });

    const revision = (await status()).revision!;
    expect(revision).to.deep.include({ source: 'verify' });
    expect(revision.doc.active).to.equal('blue');
    const trail = (await admin<{ events: EventRecord[] }>('GET', '/events?limit=1000')).events;
    const rolledBack = trail.find((e) => e.reason === 'RolledBack')!;
    expect(rolledBack.message).to.contain(failed.verdict!);
    expect(rolledBack.data).to.deep.include({ tag: V2, to: 'blue', toTag: V1, verdict: failed.verdict });
    const history = await runBin('hyper-cli', ['history'], cliEnv);
    expect(history.code, history.stderr).to.equal(0);
    expect(history.stdout).to.contain(`(rolled_back): ${failed.verdict!}`);
    const scrape = await scrapeListener();
    expect(scrape.value('hypervisor_deploys_total', { outcome: 'rolled_back' })).to.equal(1);
    expect(scrape.value('hypervisor_gate_results_total', { gate: 'verify', result: 'failed' })).to.equal(1);
    expect(scrape.value('hypervisor_upstream_failures_total', { color: 'green' })).to.equal(0);
  });
});
