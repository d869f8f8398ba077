// The contract every units driver honours, run against real backends (hono's common.case.test.ts
// pattern): each driver's test file calls unitsContract with a factory. The tests run in order, as
// one color's lifecycle: install -> start -> restart -> crash -> daemon restart -> stop -> uninstall.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { NotFoundError, ValidationError } from '../common/errors.js';
import { COLORS, type Color } from '../common/types.js';
import { type UnitDriver, type UnitObservation, type UnitSpec } from '../units/driver.js';
import { probeHealth, type ProbeResult } from '../units/health.js';
import { runsCommand } from '../common/proc-table.js';
import { backendArgv } from '../units/process-watch.js';
import { writeBackendArtifact, type BackendArtifact } from './harness/backend-artifact.js';
import { freePort } from '../harness/ports.js';
import { waitUntil } from './harness/wait.js';

/** Returns a new driver instance over the same host state each time it is called with one appName. */
export type MakeDriver = (appName: string) => Promise<UnitDriver>;

export function unitsContract(name: string, makeDriver: MakeDriver): void {
  describe(`units contract: ${name}`, function () {
    this.timeout(60_000);
    // Unique per run: user managers of concurrent runs share cgroup names like app.slice/<unit>.
    const appName = `hvt-${process.pid}-${randomBytes(3).toString('hex')}`;
    let driver: UnitDriver;
    let root: string;
    let v1: BackendArtifact;
    let v2: BackendArtifact;
    let spec: UnitSpec;

    before(async () => {
      // Space, % and $ in every path prove the unit file escapes them for systemd.
      root = await mkdtemp(path.join(tmpdir(), 'hv units 100% $HOME-'));
      v1 = await artifact(root, 'v26.11.27.0', '26.11.27.0');
      v2 = await artifact(root, 'v26.11.27.1', '26.11.27.1');
      await mkdir(path.join(root, 'env'));
      spec = {
        color: 'blue',
        tag: 'v26.11.27.0',
        version: v1.version,
        executable: v1.executable,
        port: await freePort(),
        deployment: 'test',
        envRoot: path.join(root, 'env'),
        logFile: path.join(root, 'logs', 'blue.log'),
      };
      driver = await makeDriver(appName);
    });

    after(async () => {
      for (const color of COLORS) await driver.uninstall(color).catch(() => undefined);
      await driver.close();
      await rm(root, { recursive: true, force: true });
    });

    const observe = (color: Color = 'blue'): Promise<UnitObservation> => driver.observe(color);
    const probe = (s: UnitSpec = spec): Promise<ProbeResult> =>
      probeHealth({
        port: s.port,
        readyPath: '/ping',
        versionPath: '/version',
        expectedVersion: s.version,
        timeoutMs: 1_000,
      });
    const untilReady = (s: UnitSpec = spec): Promise<ProbeResult> =>
      waitUntil(
        () => probe(s),
        (r) => r.ready,
        { what: `${s.version} Ready` },
      );
    const untilRunning = (
      what: string,
      accept: (o: UnitObservation) => boolean = () => true,
    ): Promise<UnitObservation> =>
      waitUntil(
        observe,
        (o) => o.activeState === 'active' && o.subState === 'running' && o.mainPid !== null && accept(o),
        { what },
      );

    it('reports a color that was never installed as not-found', async () => {
      const o = await observe('green');
      expect(o).to.include({
        color: 'green',
        loadState: 'not-found',
        activeState: 'inactive',
        mainPid: null,
        installed: null,
      });
    });

    it('installs a unit: observe shows it loaded and inactive, with the installed spec', async () => {
      expect(await driver.install(spec)).to.deep.equal({ changed: true });
      const o = await observe();
      expect(o).to.include({ loadState: 'loaded', activeState: 'inactive', mainPid: null });
      expect(o.installed).to.deep.equal(spec);
    });

    it('installing the same spec again changes nothing', async () => {
      expect(await driver.install({ ...spec })).to.deep.equal({ changed: false });
    });

    it('refuses a spec with a newline in a path and writes nothing', async () => {
      const bad: UnitSpec = {
        ...spec,
        color: 'green',
        logFile: path.join(root, 'logs', 'green\n[Service]\nExecStartPre=/bin/true'),
      };
      await expectRejection(driver.install(bad), ValidationError);
      expect(await observe('green')).to.include({ loadState: 'not-found', installed: null });
      await expectRejection(driver.install({ ...spec, executable: `${spec.executable}\n` }), ValidationError);
      expect((await observe()).installed).to.deep.equal(spec);
    });

    it('refuses to start a color that is not installed', async () => {
      await expectRejection(driver.start('green'), NotFoundError);
    });

    it('starts the backend: active with a MainPID, Ready at its version, output in the log file', async () => {
      await driver.start('blue');
      const o = await untilRunning('blue running');
      // The exact argv, with the space, % and $ of the paths intact: the quoting survived systemd.
      // systemd names the MainPID at fork; until its execve the pid still shows systemd's command line.
      await waitUntil(
        () => runsCommand(o.mainPid!, backendArgv(spec)),
        (runs) => runs,
        { what: `MainPID ${o.mainPid} to run the backend's argv` },
      );
      expect(await untilReady()).to.include({ ready: true, version: spec.version });
      const log = await waitUntil(
        () => readFile(spec.logFile, 'utf8'),
        (t) => t.includes('listening'),
        { what: 'log line' },
      );
      expect(log).to.include(`backend ${spec.version} (test) listening on 127.0.0.1:${spec.port}`);
    });

    it('restarts the backend into a new MainPID, Ready again', async () => {
      const before = (await observe()).mainPid;
      await driver.restart('blue');
      await untilRunning('a new MainPID', (o) => o.mainPid !== before);
      await untilReady();
    });

    it('a changed spec reports changed and takes effect on restart', async () => {
      const next: UnitSpec = { ...spec, tag: 'v26.11.27.1', version: v2.version, executable: v2.executable };
      const running = (await observe()).mainPid;
      expect(await driver.install(next)).to.deep.equal({ changed: true });
      const o = await observe();
      expect(o.installed).to.deep.equal(next);
      expect(o.mainPid).to.equal(running); // installing alone never restarts
      spec = next;
      await driver.restart('blue');
      expect(await untilReady()).to.include({ version: '26.11.27.1' });
    });

    it('brings a killed backend back: NRestarts grows, new MainPID, Ready again', async () => {
      await crashAndRecover();
    });

    it('a new driver instance (daemon restart) sees the same running backend and keeps supervising it', async () => {
      const before = await observe();
      await driver.close();
      driver = await makeDriver(appName);
      const after = await observe();
      expect(after).to.include({ loadState: 'loaded', activeState: 'active', mainPid: before.mainPid });
      expect(after.installed).to.deep.equal(spec);
      await crashAndRecover();
    });

    it('a crash-looping backend ends failed; restart() brings it back once the cause is gone', async () => {
      await driver.stop('blue');
      const squatter = await occupy(spec.port); // the backend exits 2 on EADDRINUSE
      try {
        await driver.restart('blue');
        await waitUntil(observe, (o) => o.activeState === 'failed', {
          what: 'failed after the start limit',
          timeoutMs: 30_000,
        });
      } finally {
        await new Promise((resolve) => squatter.close(resolve));
      }
      await driver.restart('blue');
      await untilRunning('running after restart');
      await untilReady();
    });

    it('stops the backend: inactive, no MainPID, the port goes quiet', async () => {
      await driver.stop('blue');
      const o = await observe();
      expect(o).to.include({ loadState: 'loaded', activeState: 'inactive', mainPid: null });
      expect((await probe()).reason).to.match(/connection refused/);
    });

    it('uninstalls the unit: not-found, and a second uninstall is a no-op', async () => {
      await driver.uninstall('blue');
      expect(await observe()).to.include({ loadState: 'not-found', activeState: 'inactive', installed: null });
      await driver.uninstall('blue');
    });

    async function crashAndRecover(): Promise<void> {
      const before = await untilRunning('running before the crash');
      process.kill(before.mainPid!, 'SIGKILL');
      const after = await untilRunning(
        'a restarted MainPID',
        (o) => o.mainPid !== before.mainPid && o.nRestarts > before.nRestarts,
      );
      expect(after.nRestarts).to.be.greaterThan(before.nRestarts);
      expect(await untilReady()).to.include({ ready: true, version: spec.version });
    }
  });
}

async function artifact(root: string, tag: string, version: string): Promise<BackendArtifact> {
  const dir = path.join(root, 'artifacts', tag);
  await mkdir(dir, { recursive: true });
  const a = await writeBackendArtifact({ version, dir });
  expect(await readdir(dir)).to.deep.equal([version]);
  return a;
}

async function occupy(port: number): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return server;
}

async function expectRejection(promise: Promise<unknown>, type: new (...args: never[]) => Error): Promise<void> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(type);
    return;
  }
  expect.fail(`expected a ${type.name}`);
}
