// The CLIs as an operator runs them (the real bin/ scripts as child processes) against a real
// daemon: hyperctl manages hyperusers over the admin socket; hyper-cli logs in, caches its token
// in a 0600 file, sends it only to the server that issued it, and logs out.
import { expect } from 'chai';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { startTestDaemon, type TestDaemon } from './api-harness.js';
import { runBin, type Ran } from '../harness/daemon-process.js';

describe('api: hyperctl users and hyper-cli login, whoami, logout (real binaries, real daemon)', function () {
  this.timeout(60_000);
  let hv: TestDaemon;
  let session: string;

  before(async () => {
    hv = await startTestDaemon();
    session = path.join(hv.dir, 'cli', 'session.json');
  });
  after(async () => {
    await hv?.close();
  });

  const run = (bin: 'hyperctl' | 'hyper-cli', args: string[], input = ''): Promise<Ran> =>
    runBin(bin, args, { ...process.env, HYPER_CLI_SESSION: session, HYPER_SERVER: undefined }, input, 30_000);
  const hyperctl = (args: string[], input?: string): Promise<Ran> =>
    run('hyperctl', [...args, '--socket', hv.socket], input);
  const hyperCli = (args: string[], input?: string): Promise<Ran> =>
    run('hyper-cli', [...args, '--server', hv.url], input);

  it('hyperctl users add, list, passwd and remove over the admin socket, passwords from stdin', async () => {
    const added = await hyperctl(['users', 'add', 'dora', '--role', 'operator,viewer', '--json'], 'first password\n');
    expect(added.code, added.stderr).to.equal(0);
    expect(JSON.parse(added.stdout)).to.deep.include({ username: 'dora', roles: ['viewer', 'operator'] });
    const listed = await hyperctl(['users', 'list']);
    expect(listed.stdout).to.match(/dora\s+viewer,operator/);
    expect(listed.stdout).to.not.contain('$scrypt$');
    expect((await hyperctl(['users', 'passwd', 'dora'], 'second password\n')).code).to.equal(0);
    expect(
      (await hv.call('POST', '/auth/login', { body: { username: 'dora', password: 'first password' } })).status,
    ).to.equal(401);
    expect(
      (await hv.call('POST', '/auth/login', { body: { username: 'dora', password: 'second password' } })).status,
    ).to.equal(200);
    expect((await hyperctl(['users', 'remove', 'dora'])).code).to.equal(0);
    const gone = await hyperctl(['users', 'remove', 'dora']);
    expect(gone.code, 'a missing user is a usage error').to.equal(2);
    const usage = await hyperctl(['users', 'add', 'x']);
    expect(usage.code).to.equal(2);
    expect(usage.stderr).to.match(/--role/);
    const badRole = await hyperctl(['users', 'add', 'x', '--role', 'root'], 'some password\n');
    expect(badRole.code).to.equal(2);
    expect(badRole.stderr).to.match(/roles\[0\]/);
  });

  it('hyper-cli refuses to work before login (exit 3, with a hint) and after a wrong password', async () => {
    await hv.addUser('lena', 'operator', 'lena password ✓');
    const before = await hyperCli(['status']);
    expect(before.code).to.equal(3);
    expect(before.stderr).to.match(/hyper-cli login/);
    const wrong = await hyperCli(['login', '--user', 'lena', '--password-stdin'], 'not it\n');
    expect(wrong.code).to.equal(3);
    expect(wrong.stderr).to.match(/wrong username or password/);
    const noStdin = await hyperCli(['login', '--user', 'lena']);
    expect(noStdin.code, 'no terminal and no --password-stdin').to.equal(2);
  });

  it('hyper-cli login caches the token in a 0600 file; whoami, status and events use it', async () => {
    const login = await hyperCli(['login', '--user', 'lena', '--password-stdin'], 'lena password ✓\n');
    expect(login.code, login.stderr).to.equal(0);
    expect(login.stdout).to.match(/logged in to .* as lena \(operator\)/);
    expect((await stat(session)).mode & 0o777).to.equal(0o600);
    const cached = JSON.parse(await readFile(session, 'utf8')) as { server: string; username: string; token: string };
    expect(cached).to.include({ server: hv.url, username: 'lena' });
    expect(login.stdout, 'the token is not printed').to.not.contain(cached.token);
    const me = await hyperCli(['whoami', '--json']);
    expect(JSON.parse(me.stdout)).to.deep.include({ username: 'lena', roles: ['operator'], via: 'token' });
    expect((await hyperCli(['status'])).code).to.equal(0);
    expect((await hyperCli(['pause'])).stdout).to.match(/^paused/);
    expect((await hyperCli(['resume'])).stdout).to.match(/^resumed/);
    const events = await hyperCli(['events']);
    expect(events.stdout).to.match(/Paused .* lena/);
  });

  it('sends the token only to the server that issued it', async () => {
    const other = await run('hyper-cli', ['whoami', '--server', hv.url.replace('127.0.0.1', 'localhost')]);
    expect(other.code, 'same daemon, other spelling: no token sent').to.equal(3);
  });

  it('hyper-cli logout --server with another server keeps the cached session, which still works', async () => {
    const { token } = JSON.parse(await readFile(session, 'utf8')) as { token: string };
    const out = await run('hyper-cli', ['logout', '--server', hv.url.replace('127.0.0.1', 'localhost')]);
    expect(out.code, out.stderr).to.equal(0);
    expect(out.stdout).to.contain(`the session with ${hv.url} is kept`);
    expect((JSON.parse(await readFile(session, 'utf8')) as { token: string }).token).to.equal(token);
    expect((await hv.call('GET', '/status', { token })).status).to.equal(200);
  });

  it('hyper-cli logout ends the session on the server and removes the cache', async () => {
    const { token } = JSON.parse(await readFile(session, 'utf8')) as { token: string };
    const out = await hyperCli(['logout']);
    expect(out.code, out.stderr).to.equal(0);
    expect(out.stdout).to.match(/logged out/);
    expect(
      await stat(session).then(
        () => true,
        () => false,
      ),
    ).to.equal(false);
    expect((await hv.call('GET', '/status', { token })).status).to.equal(401);
    expect((await hyperCli(['whoami'])).code).to.equal(3);
  });
});
