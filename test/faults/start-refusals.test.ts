// Faults a daemon must refuse at start, in one line that names the file and the fix, exit 2 and
// no stack trace: a secret readable by group or others (as ssh refuses a private key), a store
// file that is no database, a config file that is no valid config.
import { expect } from 'chai';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { TEST_SECRET } from '../../harness/github-deliveries.js';
import { newFaultHost, type FaultHost } from './fault-host.js';

function expectOneLineRefusal(ran: { code: number; stdout: string; stderr: string }, message: string): void {
  expect(ran.code, ran.stdout + ran.stderr).to.equal(2);
  expect(ran.stderr).to.equal(`hypervisor: cannot start: ${message}\n`);
  expect(ran.stderr, 'no stack trace').to.not.match(/\n\s+at /);
}

describe('faults: what stops the daemon at start (real binary)', function () {
  this.timeout(60_000);
  const hosts: FaultHost[] = [];
  after(async () => {
    for (const host of hosts) await host.close();
  });
  const hostWith = async (name: string, extra = ''): Promise<FaultHost> => {
    const host = await newFaultHost(name, { extraConfig: extra });
    hosts.push(host);
    return host;
  };

  it('refuses a webhook secret of mode 0644, naming the file, its mode and chmod 600', async () => {
    const probe = await hostWith('secret');
    const secret = path.join(probe.dir, 'etc', 'webhook-secret');
    await mkdir(path.dirname(secret), { recursive: true });
    await writeFile(secret, TEST_SECRET, { mode: 0o644 });
    await chmod(secret, 0o644);
    const config = await readFile(probe.configPath, 'utf8');
    await writeFile(probe.configPath, `${config}github: { repository: example/backend, secretFile: ${secret} }\n`);
    expectOneLineRefusal(
      await probe.startRefused(),
      `github.secretFile ${secret} has mode 0644, readable by others: a secret must be readable by ` +
        `its owner only; fix: chmod 600 ${secret}`,
    );
    await chmod(secret, 0o600);
    await probe.start();
    await probe.stop();
  });

  it('refuses a JWT secret its group may read', async () => {
    const probe = await hostWith('jwt', 'auth: { secretFile: ./jwt-secret }');
    await probe.start();
    await probe.stop();
    const secret = path.join(probe.dir, 'jwt-secret');
    await chmod(secret, 0o640);
    expectOneLineRefusal(
      await probe.startRefused(),
      `auth.secretFile ${secret} has mode 0640, readable by its group: a secret must be readable by ` +
        `its owner only; fix: chmod 600 ${secret}`,
    );
  });

  it('refuses a store file that is no database, naming it and the fix', async () => {
    const probe = await hostWith('malformed');
    await mkdir(path.dirname(probe.storePath), { recursive: true });
    await writeFile(probe.storePath, 'not a database '.repeat(500), { mode: 0o600 });
    const ran = await probe.startRefused();
    expectOneLineRefusal(
      ran,
      `the store ${probe.storePath} is damaged (file is not a database); stop the daemon, then ` +
        `restore the last good backup into ${probe.storePath} with hyperctl restore BACKUP ` +
        '(hyperctl backup makes them)',
    );
  });

  it('refuses a config file that is not valid, naming the file and the key', async () => {
    const probe = await hostWith('config');
    const config = await readFile(probe.configPath, 'utf8');
    await writeFile(probe.configPath, config.replace('units: { driver: process }', 'units: { driver: docker }'));
    const ran = await probe.startRefused();
    expect(ran.code).to.equal(2);
    expect(ran.stderr).to.match(
      new RegExp(
        `^hypervisor: cannot start: config ${probe.configPath}: units\\.driver: must be one of systemd, process`,
      ),
    );
    expect(ran.stderr.trim().split('\n')).to.have.length(1);
  });
});
