// The daemon's binary as an operator meets it: `--help` lists its options, an unknown one is refused
// before anything starts, and a port or admin socket that another process holds is explained as
// such (most often a hypervisor that still runs), with exit 2 and nothing served.
import { expect } from 'chai';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { runBin, scratchDir, type Ran } from '../harness/daemon-process.js';
import { freePorts } from '../harness/ports.js';

describe('hypervisor: --help, unknown options, a taken port or socket (the real binary)', function () {
  this.timeout(60_000);
  let scratch: { dir: string; remove(): Promise<void> };
  const servers: net.Server[] = [];

  before(async () => {
    scratch = await scratchDir('hv-bin-');
  });
  after(async () => {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    await scratch.remove();
  });

  const hypervisor = (args: string[]): Promise<Ran> =>
    runBin('hypervisor', args, { ...process.env, HYPERVISOR_CONFIG: undefined }, '', 30_000);

  /** A server of another process's kind: listening is all it does. */
  async function occupy(where: { port: number } | { path: string }): Promise<void> {
    const server = net.createServer((socket) => socket.destroy());
    servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      if ('port' in where) server.listen(where.port, '127.0.0.1', resolve);
      else server.listen(where.path, resolve);
    });
  }

  async function writeConfig(name: string, pub: number, socket: string): Promise<string> {
    const [blue, green] = await freePorts(2);
    const dir = path.join(scratch.dir, name);
    const file = path.join(scratch.dir, `${name}.yaml`);
    await writeFile(
      file,
      `app: { name: bin-${process.pid}-${name}, repo: ${path.join(dir, 'no-repo')} }
colors: { blue: { port: ${blue} }, green: { port: ${green} } }
listen: { public: '127.0.0.1:${pub}', preview: false, admin: ${socket} }
root: ${path.join(dir, 'var')}
units: { driver: process }
store: { kind: embedded, path: ${path.join(dir, 'hypervisor.db')} }
`,
    );
    return file;
  }

  it('--help lists every option, the config default and an example', async () => {
    const ran = await hypervisor(['--help']);
    expect(ran.code).to.equal(0);
    expect(ran.stdout).to.match(/Usage:\s+\$ hypervisor \[--config PATH\]/);
    for (const option of ['--config <path>', '-h, --help', '-v, --version']) expect(ran.stdout).to.contain(option);
    expect(ran.stdout).to.contain('$HYPERVISOR_CONFIG, else /etc/openhack/hypervisor.yaml');
    expect(ran.stdout).to.match(/Examples:\nhypervisor --config \S+/);
  });

  it('an unknown option or argument exits 2 before anything starts, pointing at --help', async () => {
    const ran = await hypervisor(['--confg', '/tmp/x.yaml', 'extra']);
    expect(ran.code).to.equal(2);
    expect(ran.stderr).to.equal(
      'hypervisor: unknown option --confg, argument "extra"; hypervisor --help lists the options\n',
    );
  });

  it('a public port another process listens on: exit 2, saying so and suggesting a running hypervisor', async () => {
    const [pub] = (await freePorts(1)) as [number];
    await occupy({ port: pub });
    const ran = await hypervisor(['--config', await writeConfig('port', pub, path.join(scratch.dir, 'port.sock'))]);
    expect(ran.code).to.equal(2);
    expect(ran.stderr).to.contain(
      `hypervisor: cannot start: listen.public: 127.0.0.1:${pub} is taken: another process listens ` +
        'there, perhaps a hypervisor that is still running',
    );
    expect(ran.stderr).to.contain(`ss -ltnp 'sport = :${pub}'`);
  });

  it('an admin socket another process answers on: exit 2, and the socket is left to its owner', async () => {
    const socket = path.join(scratch.dir, 'taken.sock');
    await occupy({ path: socket });
    const [pub] = (await freePorts(1)) as [number];
    const ran = await hypervisor(['--config', await writeConfig('socket', pub, socket)]);
    expect(ran.code).to.equal(2);
    expect(ran.stderr).to.contain(
      `hypervisor: cannot start: listen.admin: ${socket} is taken: another process listens there, ` +
        'perhaps a hypervisor that is still running',
    );
    const stillThere = await new Promise<boolean>((resolve) => {
      const client = net.connect({ path: socket }, () => {
        client.destroy();
        resolve(true);
      });
      client.once('error', () => resolve(false));
    });
    expect(stillThere, 'the owner still answers on its socket').to.equal(true);
  });
});
