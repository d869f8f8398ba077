// What the daemon creates is private: the store (0600 in a 0700 folder, its -wal and -shm too),
// the JWT secret (0600), and logs (0750 folders, 0640 files), including the slot logs that
// systemd appends to, which systemd itself would create 0644. A log left 0644 by an older version
// is narrowed at start.
import { expect } from 'chai';
import { chmod, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SystemdDriver } from '../../units/systemd-driver.js';
import { sharedUserManager, type SharedUserManager } from '../harness/systemd-user.js';
import { sampleSpec } from '../harness/records.js';
import { startFaultHost, type FaultHost } from './fault-host.js';

const modeOf = async (file: string): Promise<number> => (await stat(file)).mode & 0o777;

describe('faults: modes of the files the daemon creates', function () {
  this.timeout(60_000);
  let host: FaultHost;

  before(async () => {
    host = await startFaultHost('modes');
  });
  after(async () => {
    await host?.close();
  });

  it('creates the store 0600 (with its -wal and -shm) in a 0700 folder, and the JWT secret 0600', async () => {
    expect((await host.admin('POST', '/pause')).status).to.equal(201);
    expect(await modeOf(path.dirname(host.storePath))).to.equal(0o700);
    const files = (await readdir(path.dirname(host.storePath))).sort();
    expect(files).to.deep.equal(['hypervisor.db', 'hypervisor.db-shm', 'hypervisor.db-wal']);
    for (const file of files) expect(await modeOf(path.join(path.dirname(host.storePath), file)), file).to.equal(0o600);
    expect(await modeOf(path.join(host.root, 'auth', 'jwt-secret'))).to.equal(0o600);
    expect(await modeOf(path.join(host.root, 'auth'))).to.equal(0o700);
  });

  it('keeps <root>/logs 0750 and narrows a log an older version left 0644 at the next start', async () => {
    const logs = path.join(host.root, 'logs');
    expect(await modeOf(logs)).to.equal(0o750);
    const old = path.join(logs, 'hypervisor.log');
    await writeFile(old, 'an old line\n');
    await chmod(old, 0o644);
    await chmod(logs, 0o755);
    await host.stop();
    await host.start();
    expect(await modeOf(logs)).to.equal(0o750);
    expect(await modeOf(old)).to.equal(0o640);
  });

  describe('slot logs with the systemd driver', () => {
    let manager: SharedUserManager;
    before(async () => {
      manager = await sharedUserManager();
    });
    after(async () => {
      await manager?.release();
    });

    it('makes the log a color unit appends to 0640 in a 0750 folder before systemd can make it 0644', async () => {
      const appName = `hvt-modes-${process.pid}`;
      const driver = new SystemdDriver({ appName, env: manager.env });
      const logFile = path.join(host.dir, 'systemd-root', 'logs', 'blue.log');
      try {
        await driver.install(sampleSpec('blue', { logFile }));
        expect(await modeOf(logFile)).to.equal(0o640);
        expect(await modeOf(path.dirname(logFile))).to.equal(0o750);
        await chmod(logFile, 0o644);
        await driver.install({
          color: 'blue',
          tag: 'v26.11.27.1',
          version: '26.11.27.1',
          executable: '/opt/hv/artifacts/v26.11.27.1/26.11.27.1',
          port: 8001,
          deployment: 'prod',
          envRoot: '/var/openhack/env',
          logFile,
        });
        expect(await modeOf(logFile), 'narrowed at the next install').to.equal(0o640);
      } finally {
        await driver.uninstall('blue');
        await driver.close();
      }
    });
  });
});
