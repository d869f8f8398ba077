// The observer's memory between passes, against a real backend run by the process driver, on a
// fake clock: failed probes in a row, whether a MainPID was ever Ready, how long it has run, and
// the self-heal restarts it was told of. Readiness is switched by a file the backend reads, so a
// probe fails or passes while the process runs on; time moves only when a test moves it. The health
// watch is not started, so the passes alone probe.
import { expect } from 'chai';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { DesiredDoc } from '../common/types.js';
import type { HealthConfig } from '../config/config.js';
import { Router } from '../proxy/router.js';
import { Observer } from '../reconciler/observe.js';
import type { ColorObservation } from '../reconciler/types.js';
import type { UnitSpec } from '../units/driver.js';
import { ProcessDriver } from '../units/process-driver.js';
import { writeBackendArtifact } from './harness/backend-artifact.js';
import { scratchDir } from '../harness/daemon-process.js';
import { freePorts } from '../harness/ports.js';
import { waitUntil } from './harness/wait.js';

const VERSION = '26.11.27.0';
const DESIRED: DesiredDoc = {
  active: null,
  colors: { blue: { tag: `v${VERSION}` }, green: { tag: null } },
  paused: false,
};
const HEALTH: HealthConfig = {
  readyPath: '/ready',
  versionPath: '/version',
  intervalMs: 1_000,
  timeoutMs: 2_000,
  failureThreshold: 3,
  startTimeoutMs: 60_000,
};

describe('observer: health memory between passes (real backend, fake clock)', function () {
  this.timeout(60_000);
  let scratch: { dir: string; remove(): Promise<void> };
  let driver: ProcessDriver;
  let router: Router;
  let spec: UnitSpec;
  let clock: number;
  let observer: Observer;

  before(async () => {
    scratch = await scratchDir('hv-observe-');
    const [port] = await freePorts(1);
    const artifacts = path.join(scratch.dir, 'artifacts', `v${VERSION}`);
    await mkdir(artifacts, { recursive: true });
    const artifact = await writeBackendArtifact({ version: VERSION, dir: artifacts });
    spec = {
      color: 'blue',
      tag: `v${VERSION}`,
      version: VERSION,
      executable: artifact.executable,
      port: port!,
      deployment: 'test',
      envRoot: path.join(scratch.dir, 'env'),
      logFile: path.join(scratch.dir, 'logs', 'blue.log'),
    };
    await mkdir(spec.envRoot, { recursive: true });
    await mkdir(path.dirname(spec.logFile), { recursive: true });
    driver = new ProcessDriver({ appName: `observe-${process.pid}`, stateDir: path.join(scratch.dir, 'run') });
    router = new Router();
    await driver.install(spec);
    await startListening(() => driver.start('blue'));
  });
  after(async () => {
    await driver?.uninstall('blue');
    await driver?.close();
    await router?.close(1_000);
    await scratch?.remove();
  });
  beforeEach(async () => {
    clock = 1_000_000;
    observer = new Observer({
      driver,
      router,
      health: HEALTH,
      getRelease: async () => null,
      jobs: () => new Set(),
      smokes: () => new Set(),
      // Never started, so the watch sets no timer of its own.
      clock: { now: () => clock, after: () => () => undefined },
    });
    await ready(true);
  });
  afterEach(() => observer.close());

  /** One pass's observation of blue. */
  const blue = async (): Promise<ColorObservation> => (await observer.observe(DESIRED)).colors.blue;
  const ready = async (yes: boolean): Promise<void> => {
    const flag = path.join(spec.envRoot, 'unready');
    if (yes) await rm(flag, { force: true });
    else await writeFile(flag, '');
  };
  /** Runs `act` (a start or restart) and waits until a new MainPID answers on the port. */
  async function startListening(act: () => Promise<void>): Promise<number> {
    const before = (await driver.observe('blue')).mainPid;
    await act();
    const pid = await waitUntil(
      async () => (await driver.observe('blue')).mainPid,
      (mainPid) => mainPid !== null && mainPid !== before,
      { what: 'a new MainPID for blue' },
    );
    await waitUntil(
      () => fetch(`http://127.0.0.1:${spec.port}/ping`).then((r) => r.status),
      (status) => status === 200,
      { what: 'blue to listen' },
    );
    return pid!;
  }

  it('counts failed probes in a row; a Ready probe ends the count, and wasReady stays', async () => {
    await ready(false);
    const failing = [await blue(), await blue(), await blue()];
    expect(failing.map((o) => o.consecutiveFailures)).to.deep.equal([1, 2, 3]);
    expect(failing.map((o) => o.wasReady)).to.deep.equal([false, false, false]);
    expect(failing[0]!.health).to.deep.include({ ready: false, reason: '/ready: answered 503' });
    await ready(true);
    expect(await blue()).to.deep.include({ consecutiveFailures: 0, wasReady: true });
    await ready(false);
    expect(await blue()).to.deep.include({ consecutiveFailures: 1, wasReady: true });
  });

  it('probes nothing for a color without a unit and remembers nothing for it', async () => {
    const green = (await observer.observe(DESIRED)).colors.green;
    expect(green.unit.loadState).to.equal('not-found');
    expect(green).to.deep.include({ health: null, consecutiveFailures: 0, wasReady: false, runningForMs: 0 });
  });

  it('measures runningForMs on the clock from the first sight of a MainPID; a new MainPID starts over', async () => {
    expect((await blue()).runningForMs).to.equal(0);
    clock += 1_234;
    await ready(false);
    expect(await blue()).to.deep.include({ runningForMs: 1_234, consecutiveFailures: 1, wasReady: true });
    const pid = await startListening(() => driver.restart('blue'));
    clock += 10;
    const fresh = await blue();
    expect(fresh.unit.mainPid).to.equal(pid);
    expect(fresh, 'a new process has a history of its own').to.deep.include({
      runningForMs: 0,
      consecutiveFailures: 1,
      wasReady: false,
    });
    clock += 500;
    expect((await blue()).runningForMs).to.equal(500);
  });

  it('forgets a stopped unit: not probed, nothing running, and a fresh history once it runs again', async () => {
    await blue();
    await ready(false);
    expect(await blue()).to.deep.include({ consecutiveFailures: 1, wasReady: true });
    await driver.stop('blue');
    const stopped = await blue();
    expect(stopped.unit.activeState).to.not.equal('active');
    expect(stopped).to.deep.include({ health: null, consecutiveFailures: 0, wasReady: false, runningForMs: 0 });
    await startListening(() => driver.start('blue'));
    clock += 100;
    expect(await blue()).to.deep.include({ consecutiveFailures: 1, wasReady: false, runningForMs: 0 });
  });

  it('remembers the self-heal restarts it was told of and how long ago the last was, until Ready again', async () => {
    await ready(false);
    observer.noteHealRestart('blue');
    clock += 500;
    expect(await blue()).to.deep.include({ healRestarts: 1, sinceHealRestartMs: 500 });
    observer.noteHealRestart('blue');
    clock += 2_000;
    expect(await blue()).to.deep.include({ healRestarts: 2, sinceHealRestartMs: 2_000 });
    await ready(true);
    await blue();
    expect(await blue(), 'Ready again: the next trouble backs off from the start').to.deep.include({
      healRestarts: 0,
      sinceHealRestartMs: null,
    });
  });

  it('starts a fresh history for a color on forget(): failures, Ready once, and heal restarts', async () => {
    await blue();
    await ready(false);
    await blue();
    observer.noteHealRestart('blue');
    clock += 300;
    observer.forget('blue');
    expect(await blue()).to.deep.include({
      consecutiveFailures: 1,
      wasReady: false,
      runningForMs: 0,
      healRestarts: 0,
      sinceHealRestartMs: null,
    });
  });
});
