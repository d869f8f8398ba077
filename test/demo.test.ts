// `npm start` as a newcomer runs it: the demo script creates its backend repo, config and desired
// state, starts the daemon, and the public port answers from the example backend.
import { expect } from 'chai';
import { execFile, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { StatusAnswer } from '../cli/answers.js';
import { BIN_DIR, binPath, scratchDir } from './harness/daemon-process.js';
import { freePorts } from './harness/ports.js';
import { waitFor } from './harness/wait.js';

const run = promisify(execFile);

describe('npm start (the demo)', function () {
  this.timeout(120_000);

  it('serves the example backend through the proxy on the public port', async () => {
    const scratch = await scratchDir('hv-demo-');
    const [pub, blue, green, preview] = (await freePorts(4)) as [number, number, number, number];
    const demo = spawn(process.execPath, [path.join(BIN_DIR, 'demo.js')], {
      env: {
        ...process.env,
        HYPERVISOR_DEMO_DIR: path.join(scratch.dir, 'demo'),
        HYPERVISOR_DEMO_PORT: String(pub),
        HYPERVISOR_DEMO_PORTS: `${blue},${green},${preview}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    demo.stdout!.on('data', (chunk) => {
      output += chunk;
    });
    demo.stderr!.on('data', (chunk) => {
      output += chunk;
    });
    const exited = new Promise((resolve) => demo.once('exit', resolve));
    let backendPid: number | null = null;
    try {
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
      const socket = path.join(scratch.dir, 'demo', 'hypervisor.sock');
      const shown = await run(process.execPath, [binPath('hyperctl'), 'status', '--json', '--socket', socket]);
      const answer = JSON.parse(shown.stdout) as StatusAnswer;
      expect(answer.status.active).to.equal('blue');
      backendPid = answer.status.colors!.blue.unit.mainPid;
      // An invalid edit of the watched desired file changes nothing; status says why.
      await writeFile(path.join(scratch.dir, 'demo', 'desired.yaml'), 'active: blue\ncolors:\n  purple: { tag: v1 }\n');
      const refused = await waitFor(
        'the refused edit in status',
        async () => {
          const { stdout } = await run(process.execPath, [binPath('hyperctl'), 'status', '--json', '--socket', socket]);
          const now = JSON.parse(stdout) as StatusAnswer;
          return now.status.conditions.find((c) => c.type === 'DesiredSourceValid' && c.status === 'False')
            ? now
            : null;
        },
        10_000,
      );
      expect(refused.revision!.number).to.equal(answer.revision!.number);
      expect(refused.status.conditions.find((c) => c.type === 'DesiredSourceValid')!.message).to.match(/purple/);
    } finally {
      demo.kill('SIGTERM');
      await exited;
      // The colors outlive the daemon on purpose (a restarted daemon adopts them); the test ends them.
      if (backendPid !== null) process.kill(-backendPid, 'SIGKILL');
      await scratch.remove();
    }
  });
});
