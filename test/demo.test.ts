// `npm start` and `npm stop` as a newcomer runs them: the demo script creates its backend repo,
// config and desired state, starts the daemon, and the public port answers from the example
// backend; hyperctl, run from the folder that holds .demo/ (or after the printed export line), finds
// the demo without flags; npm stop ends the daemon and both colors.
import { expect } from 'chai';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { StatusAnswer } from '../api/wire.js';
import { BIN_DIR, binPath, runBin, runCommand, scratchDir, type Ran } from '../harness/daemon-process.js';
import { freePorts } from '../harness/ports.js';
import { waitFor, waitUntil } from './harness/wait.js';

const run = promisify(execFile);
const REPO = path.dirname(BIN_DIR);

describe('npm start (the demo)', function () {
  this.timeout(120_000);
  let scratch: { dir: string; remove(): Promise<void> };
  let pub: number, blue: number, green: number, preview: number;
  let demo: ChildProcess;
  let exited: Promise<unknown>;
  let output = '';
  let backendPid: number | null = null;

  /** The demo's environment: its folder is `.demo` inside the scratch folder, as in a checkout. */
  const demoEnv = (dir = path.join(scratch.dir, '.demo'), port = pub): NodeJS.ProcessEnv => ({
    ...process.env,
    HYPERVISOR_DEMO_DIR: dir,
    HYPERVISOR_DEMO_PORT: String(port),
    HYPERVISOR_DEMO_PORTS: `${blue},${green},${preview}`,
    HYPERVISOR_CONFIG: undefined,
  });
  /** hyperctl as the operator runs it after npm start: no flags, no HYPERVISOR_CONFIG. */
  const hyperctl = (args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Ran> =>
    runBin('hyperctl', args, { ...process.env, HYPERVISOR_CONFIG: undefined, ...env }, '', 30_000, cwd);
  const npmStop = (): Promise<Ran> => runCommand('npm', ['stop', '--silent'], { cwd: REPO, env: demoEnv() });

  before(async () => {
    scratch = await scratchDir('hv-demo-');
    [pub, blue, green, preview] = (await freePorts(4)) as [number, number, number, number];
    demo = spawn(process.execPath, [binPath('demo')], { env: demoEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    demo.stdout!.on('data', (chunk) => (output += chunk));
    demo.stderr!.on('data', (chunk) => (output += chunk));
    exited = new Promise((resolve) => demo.once('exit', resolve));
  });

  after(async () => {
    if (demo.exitCode === null && demo.signalCode === null) demo.kill('SIGTERM');
    await exited;
    // Should npm stop not have run (a failure before it), the colors outlive the daemon: end them here.
    if (backendPid !== null) {
      try {
        process.kill(-backendPid, 'SIGKILL');
      } catch {
        // already gone, as npm stop leaves it
      }
    }
    await scratch.remove();
  });

  it('serves the example backend through the proxy on the public port', async () => {
    const body = await waitFor(
      'the example backend through the proxy',
      async () => {
        if (demo.exitCode !== null) throw new Error(`demo exited ${demo.exitCode}: ${output}`);
        const response = await fetch(`http://127.0.0.1:${pub}/`, { signal: AbortSignal.timeout(2000) });
        return response.status === 200 ? response.text() : null;
      },
      90_000,
    );
    expect(body).to.match(/\d{2}\.\d{2}\.\d{2}\.\d+/);
    expect(output).to.match(/units: (systemd|process)/);
    const status = (await (await fetch(`http://127.0.0.1:${pub}/hypervisor/healthz`)).json()) as { ok: boolean };
    expect(status.ok).to.equal(true);
    const socket = path.join(scratch.dir, '.demo', 'hypervisor.sock');
    const shown = await run(process.execPath, [binPath('hyperctl'), 'status', '--json', '--socket', socket]);
    const answer = JSON.parse(shown.stdout) as StatusAnswer;
    expect(answer.status.active).to.equal('blue');
    backendPid = answer.status.colors!.blue.unit.mainPid;
    // An invalid edit of the watched desired file changes nothing; status says why.
    await writeFile(path.join(scratch.dir, '.demo', 'desired.yaml'), 'active: blue\ncolors:\n  purple: { tag: v1 }\n');
    const refused = await waitFor(
      'the refused edit in status',
      async () => {
        const { stdout } = await run(process.execPath, [binPath('hyperctl'), 'status', '--json', '--socket', socket]);
        const now = JSON.parse(stdout) as StatusAnswer;
        return now.status.conditions.find((c) => c.type === 'DesiredSourceValid' && c.status === 'False') ? now : null;
      },
      10_000,
    );
    expect(refused.revision!.number).to.equal(answer.revision!.number);
    expect(refused.status.conditions.find((c) => c.type === 'DesiredSourceValid')!.message).to.match(/purple/);
  });

  it('hyperctl status, logs and doctor work without flags where .demo/ is, naming the config', async () => {
    const [status, logs, doctor] = await Promise.all([
      hyperctl(['status'], scratch.dir),
      hyperctl(['logs'], scratch.dir),
      hyperctl(['doctor'], scratch.dir),
    ]);
    for (const [what, ran] of [
      ['status', status],
      ['logs', logs],
      ['doctor', doctor],
    ] as const) {
      expect(ran.code, `${what}: ${ran.stdout}${ran.stderr}`).to.equal(0);
      expect(ran.stderr, what).to.contain("hyperctl: config .demo/hypervisor.yaml (the demo's, written by npm start)");
      expect(ran.stdout + ran.stderr, what).to.not.match(/\/etc\/openhack|hyperctl setup/);
    }
    expect(status.stdout).to.match(/\*blue\s+Ready/);
    // The demo writes the daemon's output to the file hyperctl logs reads, as a daemon installed by setup does.
    expect(logs.stdout).to.contain(`hypervisor 0.1.0: public http://127.0.0.1:${pub}`);
    expect(doctor.stdout).to.match(/ok\s+daemon\s+healthy/);
  });

  it('prints the one export line that lets hyperctl find the demo from any folder', async () => {
    const line = /^export HYPERVISOR_CONFIG=(\S+)$/m.exec(output);
    expect(line, output).to.not.equal(null);
    expect(line![1]).to.equal(path.join(scratch.dir, '.demo', 'hypervisor.yaml'));
    const ran = await hyperctl(['status', '--json'], tmpdir(), { HYPERVISOR_CONFIG: line![1] });
    expect(ran.code, ran.stderr).to.equal(0);
    expect((JSON.parse(ran.stdout) as StatusAnswer).status.active).to.equal('blue');
  });

  it('a second npm start from the same folder refuses, naming the running demo and npm stop', async () => {
    const second = await runBin('demo', [], demoEnv(), '', 30_000);
    expect(second.code).to.equal(1);
    expect(second.stderr).to.match(
      new RegExp(`demo: already running from .*\\.demo \\(pid ${demo.pid}\\); npm stop stops it and its colors`),
    );
  });

  it('npm start on a taken port says another process, perhaps a hypervisor, listens; writes nothing', async () => {
    const other = path.join(scratch.dir, 'other', '.demo');
    const taken = await runBin('demo', [], demoEnv(other, pub), '', 30_000);
    expect(taken.code).to.equal(1);
    expect(taken.stderr).to.contain(
      `demo: port ${pub} (public) is taken: another process listens there, perhaps a hypervisor that is still running`,
    );
    expect(taken.stderr).to.match(/HYPERVISOR_DEMO_PORT=\d+ HYPERVISOR_DEMO_PORTS=\d+,\d+,\d+ npm start/);
    expect(existsSync(other)).to.equal(false);
  });

  it('npm stop stops the daemon and both colors; a second npm stop finds nothing running', async () => {
    const stopped = await npmStop();
    expect(stopped.code, stopped.stdout + stopped.stderr).to.equal(0);
    expect(stopped.stdout).to.contain(`demo: stopped the daemon (pid ${demo.pid})`);
    expect(stopped.stdout).to.contain(`demo: stopped blue (pid ${backendPid}) and removed its unit`);
    expect(stopped.stdout).to.contain('demo: green had no unit');
    await exited;
    for (const port of [pub, blue]) {
      await waitUntil(() => refuses(port), Boolean, { what: `nothing listening on ${port}`, timeoutMs: 10_000 });
    }
    // With the demo stopped, doctor says how to bring it back (npm start), not hyperctl setup.
    const doctor = await hyperctl(['doctor'], scratch.dir);
    expect(doctor.code).to.equal(1);
    expect(doctor.stdout).to.match(/fail\s+daemon\s+cannot reach the hypervisor/);
    expect(doctor.stdout).to.contain('fix: start the demo again: npm start');
    expect(doctor.stdout).to.not.match(/\/etc\/openhack|hyperctl setup/);
    const again = await npmStop();
    expect(again.code, again.stdout + again.stderr).to.equal(0);
    expect(again.stdout).to.contain('demo: the daemon was not running');
    expect(again.stdout).to.contain('demo: blue had no unit');
  });
});

/** Whether a TCP connection to 127.0.0.1:port is refused (nothing listens there). */
function refuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}
