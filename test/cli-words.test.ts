// What the CLIs say when something goes wrong, run as an operator runs them (the real binaries
// against a real daemon): the CLI's words, not HTTP's, with the README's exit codes; and a failed
// login that never tells whether the hyperuser exists.
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { startTestDaemon, type TestDaemon } from './api-harness.js';
import { runBin, scratchDir, type Ran } from '../harness/daemon-process.js';
import { freePort } from '../harness/ports.js';

const PASSWORD = 'words password';
const HTTP_WORDS = /\b(401|403|HTTP|Bearer|Authorization|POST)\b/;

describe('cli: errors in the CLI words, with the exit codes of the README (real binaries, real daemon)', function () {
  this.timeout(60_000);
  let hv: TestDaemon;
  let session: string;

  before(async () => {
    hv = await startTestDaemon();
    session = path.join(hv.dir, 'cli-session.json');
    await hv.addUser('wanda', 'operator', PASSWORD);
  });
  after(async () => {
    await hv?.close();
  });

  const hyperCli = (args: string[], input = '', cwd?: string): Promise<Ran> =>
    runBin(
      'hyper-cli',
      args,
      { ...process.env, HYPER_CLI_SESSION: session, HYPER_SERVER: undefined },
      input,
      30_000,
      cwd,
    );
  const login = (user: string, password: string, json = false): Promise<Ran> =>
    hyperCli(['login', '--user', user, '--password-stdin', '--server', hv.url, ...(json ? ['--json'] : [])], password);

  it('a wrong password and an unknown hyperuser read the same: only "wrong username or password", exit 3', async () => {
    const [wrongPassword, unknownUser] = await Promise.all([login('wanda', 'not it'), login('nobody', 'not it')]);
    for (const ran of [wrongPassword, unknownUser]) {
      expect(ran.code).to.equal(3);
      expect(ran.stderr).to.equal('error: wrong username or password\n');
      expect(ran.stdout).to.equal('');
    }
    const [wrongJson, unknownJson] = await Promise.all([login('wanda', 'not it', true), login('nobody', 'x', true)]);
    expect(wrongJson.stdout).to.equal(unknownJson.stdout);
    expect(JSON.parse(wrongJson.stdout)).to.deep.equal({
      error: { code: 'invalid_credentials', message: 'wrong username or password' },
    });
    const api = await Promise.all(
      [
        { username: 'wanda', password: 'not it' },
        { username: 'nobody', password: 'not it' },
      ].map((body) => hv.call('POST', '/auth/login', { body })),
    );
    expect(api.map((a) => a.status)).to.deep.equal([401, 401]);
    expect(api[0]!.text).to.equal(api[1]!.text);
  });

  it('not logged in: "not logged in to SERVER: run hyper-cli login", exit 3, no HTTP in it', async () => {
    const ran = await hyperCli(['status', '--server', hv.url]);
    expect(ran.code).to.equal(3);
    expect(ran.stderr).to.equal(`error: not logged in to ${hv.url}: run hyper-cli login --server ${hv.url}\n`);
    expect(ran.stderr).to.not.match(HTTP_WORDS);
  });

  it('a session the server ended: says it is over and how to log in again, exit 3', async () => {
    expect((await login('wanda', PASSWORD)).code).to.equal(0);
    const whoami = await hyperCli(['whoami', '--json']);
    expect(whoami.code, whoami.stderr).to.equal(0);
    const { token } = JSON.parse(await readFile(session, 'utf8')) as { token: string };
    expect((await hv.call('POST', '/auth/logout', { token })).status).to.equal(204);
    const ran = await hyperCli(['status']);
    expect(ran.code).to.equal(3);
    expect(ran.stderr).to.contain(`error: the session with ${hv.url} is over`);
    expect(ran.stderr).to.contain(`run hyper-cli login --server ${hv.url}`);
    expect(ran.stderr).to.not.match(HTTP_WORDS);
  });

  it('a server that is not a hypervisor: exit 1, naming the server and the flag to check', async () => {
    const other = http.createServer((_req, res) => res.writeHead(404, { 'content-type': 'text/plain' }).end('nope'));
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
    try {
      const ran = await hyperCli(['status', '--server', url]);
      expect(ran.code).to.equal(1);
      expect(ran.stderr).to.match(new RegExp(`^error: ${url} is not a hypervisor's API .*check --server`));
    } finally {
      await new Promise((resolve) => other.close(resolve));
    }
  });

  it('a daemon that does not answer: exit 1, and where to look', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const ran = await hyperCli(['status', '--server', url]);
    expect(ran.code).to.equal(1);
    expect(ran.stderr).to.equal(
      `error: cannot reach the hypervisor at ${url}: ECONNREFUSED: is the daemon running? On its ` +
        'host, hyperctl doctor says what is wrong\n',
    );
  });

  it('hyperctl without any config says where it looked, exit 2', async function () {
    if (existsSync('/etc/openhack/hypervisor.yaml')) this.skip(); // a host with a real config finds it
    const empty = await scratchDir('hv-words-');
    try {
      const ran = await runBin(
        'hyperctl',
        ['status'],
        { ...process.env, HYPERVISOR_CONFIG: undefined },
        '',
        30_000,
        empty.dir,
      );
      expect(ran.code).to.equal(2);
      expect(ran.stderr).to.contain(`no .demo/hypervisor.yaml in ${empty.dir}`);
      expect(ran.stderr).to.contain('no --config PATH, no $HYPERVISOR_CONFIG');
    } finally {
      await empty.remove();
    }
  });
});
