// The units contract against the process driver (no user manager), plus its own promise: a state
// file that survives the daemon, and adoption only of a process that really is our backend.
import { expect } from 'chai';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ProcessDriver } from '../units/process-driver.js';
import { waitUntil } from './harness/wait.js';
import { sampleSpec } from './harness/records.js';
import { unitsContract } from './units-contract.js';

describe('ProcessDriver', function () {
  let stateDir: string;

  before(async () => {
    stateDir = await mkdtemp(path.join(tmpdir(), 'hv-process-state-'));
  });
  after(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  unitsContract('process', async (appName) => new ProcessDriver({ appName, stateDir, pollIntervalMs: 100 }));

  it('does not adopt a recorded pid that runs something else (a reused pid)', async () => {
    const spec = sampleSpec('blue', { logFile: path.join(stateDir, 'logs', 'blue.log') });
    // Our own pid is alive but is mocha, not the backend: it must not be taken for MainPID.
    const state = {
      spec,
      wanted: false,
      nRestarts: 0,
      running: { pid: process.pid, argv: [spec.executable, '--port', '8001'] },
    };
    await writeFile(path.join(stateDir, 'hvt-reused-blue.json'), JSON.stringify(state));
    const driver = new ProcessDriver({ appName: 'hvt-reused', stateDir });
    try {
      expect(await driver.observe('blue')).to.include({ loadState: 'loaded', activeState: 'inactive', mainPid: null });
      const saved = JSON.parse(await readFile(path.join(stateDir, 'hvt-reused-blue.json'), 'utf8')) as typeof state;
      expect(saved.running).to.equal(null);
    } finally {
      await driver.uninstall('blue');
      await driver.close();
    }
  });

  it('an executable that cannot be spawned ends failed after its start limit, with the reason in the log', async () => {
    const logFile = path.join(stateDir, 'logs', 'missing.log');
    const spec = {
      color: 'green' as const,
      tag: 'v26.11.27.0',
      version: '26.11.27.0',
      executable: path.join(stateDir, 'no-such-artifact', '26.11.27.0'),
      port: 8002,
      deployment: 'prod',
      envRoot: stateDir,
      logFile,
    };
    const driver = new ProcessDriver({ appName: 'hvt-missing', stateDir, restartDelayMs: 20, startLimitBurst: 3 });
    try {
      await driver.install(spec);
      await driver.start('green');
      const o = await waitUntil(
        () => driver.observe('green'),
        (x) => x.activeState === 'failed',
        { what: 'failed' },
      );
      expect(o).to.include({ subState: 'failed', mainPid: null, nRestarts: 2 });
      expect(await readFile(logFile, 'utf8')).to.match(/cannot start .*ENOENT[\s\S]*start limit hit \(3 starts\)/);
    } finally {
      await driver.uninstall('green');
      await driver.close();
    }
  });

  it('refuses a relative state folder and bad timings when built', () => {
    expect(() => new ProcessDriver({ appName: 'a', stateDir: 'state' })).to.throw(/stateDir.*"state"/);
    expect(() => new ProcessDriver({ appName: 'a', stateDir: '/tmp/x', restartDelayMs: -1 })).to.throw(
      /restartDelayMs.*-1/,
    );
  });
});
