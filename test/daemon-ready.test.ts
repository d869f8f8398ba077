// Ready means ready: the real `hypervisor` binary, watched from the moment it is spawned. Its public
// listener (which serves healthz) comes up first; healthz answers 503 naming what is not up yet
// until the admin socket, the preview listener and the loop are all up, and only then 200. The
// start is held open by what a crashed daemon can leave: a build script that ignores SIGTERM, which
// the new daemon stops (SIGKILL after its grace) before its loop runs.
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import path from 'node:path';
import { newStepMark, STEP_MARK_VAR } from '../common/containment.js';
import { markStep } from '../reconciler/pipeline/leftovers.js';
import { request } from './api-harness.js';
import { scratchDir, spawnDaemonProcess, type DaemonProcess } from '../harness/daemon-process.js';
import { writeTestConfig } from './harness/daemon-config.js';
import { waitFor, waitUntil } from './harness/wait.js';
import { processesMatching } from './harness/processes.js';

/** One look at the daemon: healthz on the public listener, then the admin socket and the preview listener. */
interface Look {
  healthz: 'refused' | { status: number; message: string | null };
  admin: 'refused' | number;
  preview: 'refused' | number;
}

describe('daemon: healthz answers 200 only once every listener and the loop are up', function () {
  this.timeout(60_000);
  let scratch: { dir: string; remove(): Promise<void> };
  let daemon: DaemonProcess | undefined;
  let leftover: ChildProcess | undefined;

  after(async () => {
    await daemon?.stop();
    if (leftover?.pid) {
      try {
        process.kill(-leftover.pid, 'SIGKILL');
      } catch {
        // Stopped by the daemon, as it should be.
      }
    }
    await scratch?.remove();
  });

  it('answers 503 saying what is not up yet while the daemon starts, then 200 with everything up', async () => {
    scratch = await scratchDir('hv-ready-');
    const config = await writeTestConfig({ appName: `ready-${process.pid}`, dir: scratch.dir, preview: true });
    const { socket, root } = config;
    const pub = config.ports.public;
    const preview = config.ports.preview!;
    // A TEST script of a crashed daemon, still running and deaf to SIGTERM, marked as the builder marks it.
    const needle = `sleep 1000.${randomInt(100_000, 999_999)}`;
    const mark = newStepMark();
    leftover = spawn('sh', ['-c', `trap '' TERM; ${needle} & wait`], {
      detached: true,
      stdio: 'ignore',
      env: { ...process.env, [STEP_MARK_VAR]: mark },
    });
    leftover.unref();
    await waitFor('the leftover script to run', async () => (await processesMatching(needle)).length > 0 || null);
    await markStep(path.join(root, 'run', 'builds', 'v26.11.27.0.json'), leftover.pid!, mark);

    daemon = spawnDaemonProcess(config.path, {});
    const looks: Look[] = [];
    const look = async (): Promise<Look> => {
      const healthz = await fetch(`http://127.0.0.1:${pub}/hypervisor/healthz`).then(
        async (r) => ({
          status: r.status,
          message: ((await r.json()) as { error?: { message: string } }).error?.message ?? null,
        }),
        () => 'refused' as const,
      );
      // Checked after healthz answered: a part up now may have come up since, never the other way round.
      const admin = await request({ socketPath: socket }, 'GET', '/healthz').then(
        (a) => a.status,
        () => 'refused' as const,
      );
      const previewAnswer = await fetch(`http://127.0.0.1:${preview}/`).then(
        (r) => r.status,
        () => 'refused' as const,
      );
      const seen = { healthz, admin, preview: previewAnswer };
      looks.push(seen);
      return seen;
    };
    await waitUntil(look, (l) => l.healthz !== 'refused' && l.healthz.status === 200, {
      what: 'healthz 200',
      timeoutMs: 30_000,
      intervalMs: 20,
    });

    const shape = looks.map((l) => (l.healthz === 'refused' ? 'refused' : String(l.healthz.status)));
    expect(shape.join(' '), daemon.output()).to.match(/^(refused )*(503 )+200$/);
    for (const l of looks) {
      if (l.healthz === 'refused' || l.healthz.status !== 503) continue;
      expect(l.healthz.message).to.match(/^the daemon is starting; not up yet: /);
      if (l.admin === 'refused') expect(l.healthz.message).to.contain('admin socket');
      if (l.preview === 'refused') expect(l.healthz.message).to.contain('preview listener');
      expect(l.healthz.message).to.contain('desired-state sources and the reconcile loop');
    }
    const waitingOnTheLoopOnly = looks.filter(
      (l) =>
        l.healthz !== 'refused' &&
        l.healthz.message === 'the daemon is starting; not up yet: desired-state sources and the reconcile loop',
    );
    expect(waitingOnTheLoopOnly.length, 'looks while every listener was up but the loop was not').to.be.greaterThan(0);
    // Both listeners were up before healthz answered; the admin socket, asked after it, may already
    // see the loop up too (200), never a listener down.
    expect(
      waitingOnTheLoopOnly.every((l) => (l.admin === 503 || l.admin === 200) && l.preview !== 'refused'),
      JSON.stringify(waitingOnTheLoopOnly),
    ).to.equal(true);
    const ready = looks.at(-1)!;
    expect(ready.admin).to.equal(200);
    expect(ready.preview).to.equal(503); // no color is Ready: the preview listener answers, with 503
    expect(await processesMatching(needle), 'the leftover script was stopped first').to.deep.equal([]);
  });
});
