// The units contract against a real, isolated systemd user manager, plus what only systemd has:
// unit files on disk, daemon-reload, reachability of the manager.
import { expect } from 'chai';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Systemctl } from '../units/systemctl.js';
import { isUserManagerReachable, SystemdDriver } from '../units/systemd-driver.js';
import { sharedUserManager, type SharedUserManager } from './harness/systemd-user.js';
import { sampleSpec } from './harness/records.js';
import { unitsContract } from './units-contract.js';

describe('SystemdDriver', function () {
  this.timeout(60_000);
  let manager: SharedUserManager;

  before(async () => {
    manager = await sharedUserManager();
  });
  after(async () => {
    await manager?.release();
  });

  unitsContract('systemd', async (appName) => new SystemdDriver({ appName, env: manager.env }));

  it('knows whether a user manager answers', async () => {
    expect(await isUserManagerReachable(manager.env)).to.equal(true);
    expect(
      await isUserManagerReachable({ XDG_RUNTIME_DIR: '/nonexistent/run', XDG_CONFIG_HOME: '/nonexistent/config' }),
    ).to.equal(false);
  });

  it('writes <app>-<color>.service into $XDG_CONFIG_HOME/systemd/user and systemd loads it from there', async () => {
    const driver = new SystemdDriver({ appName: `hvt-file-${process.pid}`, env: manager.env });
    const spec = sampleSpec('green', { logFile: path.join(manager.env.XDG_CONFIG_HOME, 'logs', 'green.log') });
    try {
      await driver.install(spec);
      const file = path.join(manager.env.XDG_CONFIG_HOME, 'systemd', 'user', `hvt-file-${process.pid}-green.service`);
      const text = await readFile(file, 'utf8');
      expect(text).to.include('Restart=on-failure');
      expect(await driver.observe('green')).to.include({ loadState: 'loaded', activeState: 'inactive', drift: null });
      // Enabled, so the user manager starts it again after a host restart.
      const enabled = await new Systemctl({ env: manager.env }).run([
        'is-enabled',
        `hvt-file-${process.pid}-green.service`,
      ]);
      expect(enabled.trim()).to.equal('enabled');
      // An edit by hand is drift; the next install writes the rendered file back.
      await writeFile(file, text.replace('RestartSec=1', 'RestartSec=30'));
      expect((await driver.observe('green')).drift).to.match(/edited by hand/);
      expect(await driver.install(spec)).to.deep.equal({ changed: true });
      expect((await driver.observe('green')).drift).to.equal(null);
    } finally {
      await driver.uninstall('green');
    }
    expect(await driver.observe('green')).to.include({ loadState: 'not-found', installed: null });
  });

  it('refuses a bad app name when built', () => {
    expect(() => new SystemdDriver({ appName: 'bad/name', env: manager.env })).to.throw(/app\.name.*bad\/name/);
  });
});
