// Fault: SIGSTOP of the active color while the other is Ready. The real `hypervisor` binary with the
// systemd driver and a real `systemd --user`; both colors run the example backend built from a real
// tag, and GET / names the port that answered. A stopped process still has its connections
// accepted by the kernel, so only the health probes' timeouts can tell. Invariants: the stalled
// color is out of public routing within health.interval x failureThreshold + health.timeout of the
// SIGSTOP, every request is answered (those already waiting after the response timeout, by the
// other color), status and events say what the proxy does, and no revision or ledger entry is
// written; once the color answers again (SIGCONT, or the heal restart) it takes its traffic back.
import { expect } from 'chai';
import path from 'node:path';
import type { StatusAnswer } from '../../api/wire.js';
import { ApiClient } from '../../cli/client.js';
import type { Color, Deployment, EventRecord } from '../../common/types.js';
import { SystemdDriver } from '../../units/systemd-driver.js';
import { runBin, scratchDir, startDaemonProcess, type DaemonProcess } from '../../harness/daemon-process.js';
import { createExampleRepo } from '../../harness/example-repo.js';
import { writeTestConfig } from '../harness/daemon-config.js';
import { startPacedLoad, type PacedLoad, type PacedRequest } from '../harness/paced-load.js';
import { sharedUserManager, type SharedUserManager } from '../harness/systemd-user.js';
import { waitFor } from '../harness/wait.js';

const TAG = 'v26.11.27.0';
const HEALTH = { intervalMs: 500, timeoutMs: 300, failureThreshold: 3 };
/** The promise: a stalled color is out of routing this long after it stalls, at the latest. */
const BOUND_MS = HEALTH.intervalMs * HEALTH.failureThreshold + HEALTH.timeoutMs;
/**
 * What measuring adds to the bound: the next paced request after the failover (one every 10 ms),
 * its way through the proxy to green and back, and timers that fire late on a host whose two cores
 * other test runs share. The decision itself is held to the bound exactly in health-watch.test.ts.
 */
const MEASURE_SLACK_MS = 200;
const RESPONSE_TIMEOUT_MS = 3_000;
/** undici checks the response deadline on a coarse timer: it fires up to about a second late. */
const TIMER_SLACK_MS = 1_500;

describe('fault: SIGSTOP of the active color (real systemd, a real daemon)', function () {
  this.timeout(240_000);
  let manager: SharedUserManager;
  let scratch: { dir: string; remove(): Promise<void> };
  let daemon: DaemonProcess;
  let admin: ApiClient;
  let appName: string;
  let configPath: string;
  let publicUrl: string;
  let ports: Record<Color, number>;
  let load: PacedLoad | null = null;
  const stopped = new Set<number>();

  const status = (): Promise<StatusAnswer> => admin.get<StatusAnswer>('/status');
  const events = async (): Promise<EventRecord[]> =>
    (await admin.get<{ events: EventRecord[] }>('/events?limit=1000')).events;
  const ledger = async (): Promise<Deployment[]> =>
    (await admin.get<{ deployments: Deployment[] }>('/deployments')).deployments;
  const colorOf = (r: PacedRequest): Color | null => {
    if (r.status !== 200) return null;
    const { port } = JSON.parse(r.body) as { port: number };
    return port === ports.blue ? 'blue' : port === ports.green ? 'green' : null;
  };
  /** Both colors Ready, public traffic on `serving`, the loop paused or not. */
  const settled = (serving: Color, paused: boolean) => async (): Promise<StatusAnswer | null> => {
    const s = await status();
    const { colors } = s.status;
    const ready = colors?.blue.phase === 'Ready' && colors.green.phase === 'Ready';
    return ready && s.status.serving === serving && s.status.active === 'blue' && s.status.paused === paused ? s : null;
  };
  /** The status once it says public traffic goes to `color`. */
  const servingIn = (color: Color) => async (): Promise<StatusAnswer | null> => {
    const s = await status();
    return s.status.serving === color ? s : null;
  };
  /** The first request sent at or after `since` that `color` answered. */
  const firstAnsweredBy = (color: Color, since: number) => async (): Promise<PacedRequest | null> =>
    load!.requests.find((r) => r.sentAt >= since && colorOf(r) === color) ?? null;
  const signal = (pid: number, sig: 'SIGSTOP' | 'SIGCONT'): void => {
    process.kill(pid, sig);
    if (sig === 'SIGSTOP') stopped.add(pid);
    else stopped.delete(pid);
  };
  const newEvents = async (since: number, reasons: string[]): Promise<EventRecord[]> =>
    (await events()).filter((e) => e.id > since && reasons.includes(e.reason));

  before(async () => {
    manager = await sharedUserManager();
    scratch = await scratchDir('hv-fault-stall-');
    const repo = await createExampleRepo(path.join(scratch.dir, 'backend'));
    await repo.release(TAG.slice(1));
    const config = await writeTestConfig({
      appName: `fault-stall-${process.pid}`,
      dir: scratch.dir,
      repo: repo.path,
      driver: 'systemd',
      scriptTimeouts: { build: '2m', test: '2m' },
      // The pass interval is longer than the probe interval: the watch alone keeps the cadence.
      intervals: { health: `${HEALTH.intervalMs}ms`, reconcile: '5s' },
      healthTimeout: `${HEALTH.timeoutMs}ms`,
      extra: `proxy: { responseTimeout: ${RESPONSE_TIMEOUT_MS}ms }\npolicy: { autoStage: false }`,
    });
    ({ appName, publicUrl, path: configPath } = config);
    ports = { blue: config.ports.blue, green: config.ports.green };
    daemon = await startDaemonProcess(config.path, manager.env, publicUrl);
    admin = new ApiClient({ socketPath: config.socket });
    await admin.put('/desired', { active: 'blue', colors: { blue: { tag: TAG }, green: { tag: TAG } } });
    await waitFor('blue serving and green Ready', settled('blue', false), 120_000);
  });

  afterEach(async () => {
    for (const pid of stopped) {
      try {
        signal(pid, 'SIGCONT');
      } catch (err) {
        // A heal restart ended it.
        if ((err as { code?: string }).code !== 'ESRCH') throw err;
        stopped.delete(pid);
      }
    }
    await load?.stop();
    load = null;
  });

  after(async () => {
    await daemon?.stop();
    await admin?.close();
    if (manager) {
      const driver = new SystemdDriver({ appName, env: manager.env });
      for (const color of ['blue', 'green'] as const) await driver.uninstall(color).catch(() => undefined);
    }
    await manager?.release();
    await scratch?.remove();
  });

  /** Paced GETs on the public port, and a first answer from blue so the stall interrupts real traffic. */
  async function startTraffic(): Promise<PacedLoad> {
    load = startPacedLoad({
      origin: publicUrl,
      everyMs: 10,
      durationMs: 120_000,
      maxRequests: 12_000,
      maxWaiting: 500,
      deadlineMs: RESPONSE_TIMEOUT_MS + 2 * TIMER_SLACK_MS,
    });
    await waitFor('an answer from blue', firstAnsweredBy('blue', 0));
    return load;
  }

  /** SIGSTOP of blue's MainPID; resolves with the moment and the first request green answered after it. */
  async function stallBlue(): Promise<{ pid: number; at: number; firstGreen: PacedRequest }> {
    const pid = (await status()).status.colors!.blue.unit.mainPid!;
    const at = performance.now();
    signal(pid, 'SIGSTOP');
    const firstGreen = await waitFor('an answer from green', firstAnsweredBy('green', at), 10_000);
    return { pid, at, firstGreen };
  }

  /** Every request answered 200, none waited past the response timeout (and the timer's slack). */
  function expectAllAnswered(requests: readonly PacedRequest[]): void {
    const failed = requests.filter((r) => r.status !== 200).map((r) => `${r.status} ${r.error ?? r.body}`);
    expect(failed.slice(0, 5), `${failed.length} of ${requests.length} failed`).to.deep.equal([]);
    const longest = Math.max(...requests.map((r) => r.answeredAt! - r.sentAt));
    expect(longest).to.be.at.most(RESPONSE_TIMEOUT_MS + TIMER_SLACK_MS);
  }

  it('paused loop: out of routing within the bound by the proxy alone; SIGCONT takes the traffic back', async () => {
    await admin.post('/pause', {});
    const before = await waitFor('the loop paused', settled('blue', true));
    const deployments = await ledger();
    const since = (await events()).at(-1)?.id ?? 0;
    await startTraffic();

    const { pid, at, firstGreen } = await stallBlue();
    expect(firstGreen.answeredAt! - at, 'SIGSTOP to the first answer from green (ms)').to.be.at.most(
      BOUND_MS + MEASURE_SLACK_MS,
    );
    const out = await waitFor('status to say traffic goes to green', servingIn('green'), 10_000);
    expect(out.status).to.include({ active: 'blue', serving: 'green' });
    expect(out.status.colors!.blue.phase).to.equal('Degraded');
    expect(out.status.colors!.blue.message).to.match(
      /^blue stalled \(3 probes timed out after 300ms\); public traffic goes to green until blue answers again/,
    );
    const shown = await runBin('hyperctl', ['status', '--config', configPath], { ...process.env, NO_COLOR: '1' });
    expect(shown.stdout).to.contain('traffic  green (failed over: blue is out of routing until it answers again)');
    expect(shown.stdout).to.contain('blue stalled (3 probes timed out after 300ms)');
    const [failedOver] = await newEvents(since, ['FailedOver']);
    expect(failedOver).to.deep.include({
      color: 'blue',
      data: { from: 'blue', to: 'green', why: 'blue stalled (3 probes timed out after 300ms)' },
    });

    // Requests that were waiting on blue get the response timeout, then go to green.
    await waitFor(
      'the requests waiting on blue to end',
      async () => load!.requests.every((r) => r.sentAt >= firstGreen.sentAt || r.answeredAt !== null) || null,
    );
    const afterOut = load!.requests.filter((r) => r.sentAt >= firstGreen.sentAt && r.answeredAt !== null);
    expect(new Set(afterOut.map(colorOf)), 'sent after the failover: green alone').to.deep.equal(new Set(['green']));

    const resumedAt = performance.now();
    signal(pid, 'SIGCONT');
    const firstBlue = await waitFor('an answer from blue again', firstAnsweredBy('blue', resumedAt));
    expect(firstBlue.answeredAt! - resumedAt, 'SIGCONT to blue serving again (ms)').to.be.at.most(
      HEALTH.intervalMs + HEALTH.timeoutMs + MEASURE_SLACK_MS,
    );
    const back = await waitFor('status to say blue serves again', settled('blue', true));
    expect(back.status.colors!.blue.unit.mainPid, 'the same process: nothing restarted it').to.equal(pid);
    const failover = await newEvents(since, ['FailedOver', 'FailedBack', 'Restarted', 'Routed']);
    expect(failover.map((e) => `${e.reason} ${e.color}: ${e.message}`)).to.deep.equal([
      `FailedOver blue: ${failedOver!.message}`,
      'FailedBack blue: blue answers again: public traffic goes back to blue',
    ]);
    expectAllAnswered(await load!.stop());
    expect((await status()).revision, 'no revision written').to.deep.equal(before.revision);
    expect(await ledger(), 'no ledger entry').to.deep.equal(deployments);
  });

  it('running loop: out of routing within the bound; the heal restart brings blue back to its traffic', async () => {
    await admin.post('/resume', {});
    const before = await waitFor('the loop running again', settled('blue', false));
    const deployments = await ledger();
    const since = (await events()).at(-1)?.id ?? 0;
    await startTraffic();

    const { pid, at, firstGreen } = await stallBlue();
    expect(firstGreen.answeredAt! - at, 'SIGSTOP to the first answer from green (ms)').to.be.at.most(
      BOUND_MS + MEASURE_SLACK_MS,
    );
    const back = await waitFor(
      'blue restarted, Ready and serving again',
      async () => {
        const s = await settled('blue', false)();
        return s && s.status.colors!.blue.unit.mainPid !== pid ? s : null;
      },
      60_000,
    );
    const servingAgainAt = performance.now();
    await waitFor('an answer from the new blue', firstAnsweredBy('blue', servingAgainAt));
    const seen = await newEvents(since, ['FailedOver', 'FailedBack', 'Restarted', 'Routed']);
    const reasons = seen.map((e) => `${e.reason} ${e.color}`);
    expect(reasons[0]).to.equal('FailedOver blue');
    // The watch's FailedBack (the new blue's first Ready probe) may be written before or after the
    // pass's Restarted, which that pass writes once the restart returns: only the failover's own order holds.
    const failovers = reasons.filter((r) => r.startsWith('Failed'));
    expect(failovers.at(-1), 'the failover is over').to.equal('FailedBack blue');
    expect(reasons, 'the loop healed blue; nothing switched')
      .to.include('Restarted blue')
      .and.not.include('Routed blue');
    expect(seen.find((e) => e.reason === 'Restarted')!.message).to.match(
      /failed probes: \/ping: timed out after 300ms/,
    );
    expectAllAnswered(await load!.stop());
    expect(back.revision, 'no revision written').to.deep.equal(before.revision);
    expect(await ledger(), 'no ledger entry').to.deep.equal(deployments);
  });
});
