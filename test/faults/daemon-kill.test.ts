// Fault: kill -9 of the daemon while a build is in checkout, in BUILD and in TEST, then a restart.
// The real `hypervisor` binary with the systemd driver and a real `systemd --user`; the backend's
// repo served by a real `git daemon` behind a gate that can stall a fetch; BUILD and TEST wrapped
// so that, while a hold file exists, they hang with a child in a session of its own (setsid).
// Invariants: what the killed step started does not survive the restart, no temp folder is left,
// the build runs again once and succeeds, and the restarted daemon serves the Ready color throughout.
import { expect } from 'chai';
import { randomInt } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { StatusAnswer } from '../../api/wire.js';
import { ApiClient } from '../../cli/client.js';
import type { EventRecord, ReleaseRecord } from '../../common/types.js';
import { Systemctl } from '../../units/systemctl.js';
import { writeTestConfig } from '../harness/daemon-config.js';
import { scratchDir, startDaemonProcess, type DaemonProcess } from '../../harness/daemon-process.js';
import { createExampleRepo, type ExampleRepo } from '../../harness/example-repo.js';
import { startGitGate, type GitGate } from '../harness/git-gate.js';
import { startLoad } from '../harness/load.js';
import { processesMatching } from '../harness/processes.js';
import { sharedUserManager, type SharedUserManager } from '../harness/systemd-user.js';
import { waitFor } from '../harness/wait.js';

const V1 = '26.11.27.0';
type Step = 'checkout' | 'BUILD' | 'TEST';

/** The two sleeps a held script leaves: one in its group, one in a session of its own. */
interface Hang {
  inGroup: string;
  escaped: string;
}

function hang(): Hang {
  return { inGroup: `sleep 1000.${randomInt(100_000, 999_999)}`, escaped: `sleep 1000.${randomInt(100_000, 999_999)}` };
}

/** BUILD and TEST become wrappers: they hang while `<holds>/<script>` exists, else run the real script. */
async function wrapScripts(repo: ExampleRepo, holds: string, hangs: Record<'BUILD' | 'TEST', Hang>): Promise<void> {
  for (const script of ['BUILD', 'TEST'] as const) {
    await repo.commitFile(`${script}.real`, await readFile(path.join(repo.path, script), 'utf8'), `keep ${script}`);
    const { inGroup, escaped } = hangs[script];
    await repo.commitFile(
      script,
      `#!/bin/sh\nif [ -e '${path.join(holds, script)}' ]; then\n  setsid ${escaped} &\n  exec ` +
        `${inGroup}\nfi\nexec node ./${script}.real "$@"\n`,
      `${script} can be held`,
    );
  }
}

describe('fault: kill -9 of the daemon at each pipeline step (real systemd, real git)', function () {
  this.timeout(300_000);
  let manager: SharedUserManager;
  let scratch: { dir: string; remove(): Promise<void> };
  let repo: ExampleRepo;
  let gate: GitGate;
  let daemon: DaemonProcess;
  let admin: ApiClient;
  let configPath: string;
  let publicUrl: string;
  let root: string;
  let holds: string;
  let build = 1;
  const hangs = { BUILD: hang(), TEST: hang() };

  const status = (): Promise<StatusAnswer> => admin.get<StatusAnswer>('/status');
  const events = async (): Promise<EventRecord[]> =>
    (await admin.get<{ events: EventRecord[] }>('/events?limit=1000')).events;
  const greenReadyAt = (tag: string) => async (): Promise<StatusAnswer | null> => {
    const s = await status();
    const green = s.status.colors?.green;
    return green?.phase === 'Ready' && green.runningTag === tag ? s : null;
  };
  /** Starts the daemon; resolves once both its public port and its admin socket answer. */
  const start = async (): Promise<void> => {
    daemon = await startDaemonProcess(configPath, manager.env, publicUrl);
    await waitFor('the admin socket to answer', () => status().catch(() => null));
  };
  const temps = async (): Promise<string[]> =>
    (await readdir(path.join(root, 'artifacts'))).filter((name) => name.startsWith('.'));
  const stepScopes = (): Promise<string> =>
    new Systemctl({ env: manager.env }).run(['list-units', '--all', '--no-legend', 'hypervisor-step-*']);

  before(async () => {
    manager = await sharedUserManager();
    scratch = await scratchDir('hv-fault-kill-');
    holds = path.join(scratch.dir, 'holds');
    await mkdir(holds);
    repo = await createExampleRepo(path.join(scratch.dir, 'remote', 'backend'));
    await wrapScripts(repo, holds, hangs);
    await repo.release(V1);
    gate = await startGitGate(path.join(scratch.dir, 'remote'));
    const config = await writeTestConfig({
      appName: `fault-kill-${process.pid}`,
      dir: scratch.dir,
      repo: gate.url('backend'),
      driver: 'systemd',
      scriptTimeouts: { build: '2m', test: '2m' },
    });
    ({ path: configPath, publicUrl, root } = config);
    admin = new ApiClient({ socketPath: config.socket });
    await start();
    await admin.put('/desired', { active: 'blue', colors: { blue: { tag: `v${V1}` } } });
    await waitFor(
      'blue Ready at v1',
      async () => {
        const s = await status();
        return s.status.colors?.blue.phase === 'Ready' ? s : null;
      },
      90_000,
    );
  });

  after(async () => {
    await daemon?.stop();
    await admin?.close();
    await gate?.close();
    await manager?.release();
    await scratch?.remove();
  });

  /** Arms the fault for `step`; resolves with the command-line needles of what the step runs while held. */
  async function arm(step: Step): Promise<string[]> {
    if (step === 'checkout') {
      gate.hold();
      return [gate.url('backend')];
    }
    await writeFile(path.join(holds, step), '');
    return [hangs[step].inGroup, hangs[step].escaped];
  }

  async function disarm(step: Step): Promise<void> {
    if (step === 'checkout') gate.release();
    else await rm(path.join(holds, step));
  }

  /** Stages a new tag on green, waits until the build is held in `step`, and kills the daemon there. */
  async function killDuring(step: Step): Promise<{ tag: string; needles: string[]; since: number }> {
    const tag = await repo.release(`26.11.28.${build++}`);
    const needles = await arm(step);
    const since = (await events()).at(-1)?.id ?? 0;
    await admin.put('/desired', { active: 'blue', colors: { blue: { tag: `v${V1}` }, green: { tag } } });
    for (const needle of needles) {
      await waitFor(
        `${step} of ${tag} to run ${needle}`,
        async () => (await processesMatching(needle)).length > 0 || null,
        60_000,
      );
    }
    if (step === 'BUILD') expect(await temps()).to.have.length(1);
    expect(await (await fetch(`${publicUrl}/version`)).text()).to.equal(V1);
    daemon.child.kill('SIGKILL');
    await daemon.stop();
    // The fault is real: what the step started outlives the daemon.
    for (const needle of needles) expect(await processesMatching(needle), needle).to.have.length.above(0);
    await disarm(step);
    return { tag, needles, since };
  }

  for (const step of ['checkout', 'BUILD', 'TEST'] as const) {
    it(`kill -9 during ${step}: the restart ends the step's processes, removes its temp folder, rebuilds`, async () => {
      const { tag, needles, since } = await killDuring(step);
      await start();
      const load = startLoad({ origin: publicUrl, connections: 1, durationMs: 120_000, maxRequests: 1_000_000 });
      try {
        await waitFor(`green Ready at ${tag} after the restart`, greenReadyAt(tag), 120_000);
      } finally {
        load.stop();
      }
      const served = await load.done;
      expect(served.failed, served.failures.join('\n')).to.equal(0);
      expect([...served.bodies.keys()]).to.deep.equal([V1]);
      for (const needle of needles) expect(await processesMatching(needle), needle).to.deep.equal([]);
      expect(await stepScopes()).to.equal('');
      expect(await temps()).to.deep.equal([]);
      const ofTag = (await events()).filter((e) => e.id > since && e.data?.tag === tag).map((e) => e.reason);
      expect(ofTag.filter((r) => r === 'BuildStarted')).to.have.length(2);
      expect(ofTag.filter((r) => r === 'BuildInterrupted')).to.have.length(1);
      expect(ofTag).to.not.include('BuildFailed');
      const { release } = await admin.get<{ release: ReleaseRecord }>(`/releases/${tag}`);
      expect(release).to.include({ status: 'succeeded', interruptions: 0 });
      expect(daemon.child.exitCode).to.equal(null);
      expect((await fetch(`${publicUrl}/hypervisor/healthz`)).status).to.equal(200);
    });
  }
});
