// Fault: a full disk under a real daemon (systemd driver, a real user manager, real builds of the
// example backend). `<root>/logs` (the build logs, the slot logs and the daemon's own log, which
// its stdout appends to as under `hyperctl setup`'s unit), `<root>/artifacts` and the desired
// file's folder are small tmpfs mounts, filled to the last block. Invariants: a rebuild fails with a
// message naming the path and the cause, the daemon stays up and the public port serves blue
// throughout (no failed request), a restart does not build again, status and doctor name the low
// disk, a BUILD that floods its log fails at once, the desired file's write-back is an event, and
// with room again the next rebuild passes. The one disk watch's threshold (config `disk:`) drives
// the status problem, the events and notify's disk_low alike: a real webhook receiver is told.
// Needs root to mount; says why it is skipped otherwise.
import { expect } from 'chai';
import { randomInt } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { StatusAnswer } from '../../api/wire.js';
import { ApiClient } from '../../cli/client.js';
import type { EventRecord, ReleaseRecord } from '../../common/types.js';
import { SystemdDriver } from '../../units/systemd-driver.js';
import { runBin, scratchDir, startDaemonProcess, type DaemonProcess } from '../../harness/daemon-process.js';
import { createExampleRepo } from '../../harness/example-repo.js';
import { parseJson } from '../cli-harness.js';
import { STACK_LINE } from './fault-host.js';
import { writeTestConfig, type TestConfig } from '../harness/daemon-config.js';
import { startLoad, type RunningLoad } from '../harness/load.js';
import { processesMatching } from '../harness/processes.js';
import { sharedUserManager, type SharedUserManager } from '../harness/systemd-user.js';
import { mountTmpfs, whyNoTmpfs, type Tmpfs } from '../harness/tmpfs.js';
import { startReceiver, verifyDelivery, type Receiver } from '../harness/notify-receiver.js';
import { waitFor } from '../harness/wait.js';

const NO_SPACE = 'no space left on device at';
const HOOK_SECRET = 'the-disk-hook-secret';

describe('fault: a full disk under <root>/logs, <root>/artifacts and the desired file (real systemd)', function () {
  this.timeout(300_000);
  let scratch: { dir: string; remove(): Promise<void> };
  let manager: SharedUserManager | undefined;
  const mounts: Tmpfs[] = [];
  let logs: Tmpfs;
  let artifacts: Tmpfs;
  let desiredDir: Tmpfs;
  let config: TestConfig;
  let daemon: DaemonProcess | undefined;
  let admin: ApiClient;
  let receiver: Receiver | undefined;
  let v1: string;
  let v2: string;
  let desiredFile: string;
  const flood = `flood-${randomInt(100_000, 999_999)}`;

  const status = async (): Promise<StatusAnswer['status']> => (await admin.get<StatusAnswer>('/status')).status;
  const events = async (): Promise<EventRecord[]> =>
    (await admin.get<{ events: EventRecord[] }>('/events?limit=1000')).events;
  const release = async (tag: string): Promise<ReleaseRecord> =>
    (await admin.get<{ release: ReleaseRecord }>(`/releases/${tag}`)).release;
  /** The signed deliveries to the disk hook, each verified as a receiver must. */
  const told = (): Array<Record<string, unknown>> =>
    receiver!.to('/disk').map((r) => {
      const verified = verifyDelivery(HOOK_SECRET, r, new Set());
      expect(verified.why, r.raw).to.equal('ok');
      return verified.body!;
    });
  const lastEventId = async (): Promise<number> => (await events()).at(-1)?.id ?? 0;
  const start = async (): Promise<void> => {
    daemon = await startDaemonProcess(config.path, manager!.env, config.publicUrl, 20_000, daemonLog());
    await waitFor('the admin socket to answer', () => status().catch(() => null));
  };
  const daemonLog = (): string => path.join(config.root, 'logs', 'hypervisor.log');
  const load = (): RunningLoad =>
    startLoad({ origin: config.publicUrl, connections: 1, durationMs: 240_000, maxRequests: 1_000_000 });
  const greenReady = async (): Promise<true | null> => {
    const green = (await status()).colors?.green;
    return (green?.phase === 'Ready' && green.runningTag === v2) || null;
  };

  /** Rebuilds v2 under load; resolves with its failed record once the build has ended, and what the load saw. */
  async function rebuildUnderLoad(expected: ReleaseRecord['status']): Promise<ReleaseRecord> {
    const traffic = load();
    try {
      await admin.post(`/releases/${v2}/rebuild`);
      const ended = await waitFor(
        `the rebuild of ${v2} to end`,
        async () => {
          const record = await release(v2);
          return ['succeeded', 'failed', 'rejected'].includes(record.status) ? record : null;
        },
        150_000,
      );
      expect(ended.status, ended.error ?? '').to.equal(expected);
      return ended;
    } finally {
      traffic.stop();
      const served = await traffic.done;
      expect(served.failed, served.failures.join('\n')).to.equal(0);
      expect([...served.bodies.keys()]).to.deep.equal([v1.slice(1)]);
      expect(daemon!.child.exitCode, daemon!.output().slice(-2000)).to.equal(null);
    }
  }

  before(async function () {
    scratch = await scratchDir('hv-fault-disk-');
    const why = await whyNoTmpfs(scratch.dir);
    if (why !== null) {
      console.log(`      skipped: ${why}`);
      this.skip();
    }
    manager = await sharedUserManager();
    const root = path.join(scratch.dir, 'var');
    logs = await mountTmpfs(path.join(root, 'logs'));
    artifacts = await mountTmpfs(path.join(root, 'artifacts'));
    desiredDir = await mountTmpfs(path.join(scratch.dir, 'desired'), '256k');
    mounts.push(logs, artifacts, desiredDir);
    const repo = await createExampleRepo(path.join(scratch.dir, 'backend'));
    // BUILD floods its output without end while the flag file exists: a hanging, chatty build.
    await repo.commitFile('BUILD.real', await readFile(path.join(repo.path, 'BUILD'), 'utf8'), 'keep BUILD');
    const flag = path.join(scratch.dir, 'flood');
    await repo.commitFile(
      'BUILD',
      `#!/bin/sh\nif [ -e '${flag}' ]; then exec yes '${flood}'; fi\nexec node ./BUILD.real "$@"\n`,
      'BUILD can flood',
    );
    v1 = await repo.release('26.11.27.0');
    v2 = await repo.release('26.11.27.1');
    desiredFile = path.join(desiredDir.dir, 'desired.yaml');
    receiver = await startReceiver();
    const hookSecret = path.join(scratch.dir, 'hook-secret');
    await writeFile(hookSecret, `${HOOK_SECRET}\n`, { mode: 0o600 });
    const hook = `{ name: ops, kind: webhook, url: '${receiver.url}/disk', secretFile: ${hookSecret}`;
    await writeFile(desiredFile, `active: blue\ncolors:\n  blue: { tag: ${v1} }\n  green: { tag: ${v2} }\n`);
    config = await writeTestConfig({
      appName: `fault-disk-${process.pid}`,
      dir: scratch.dir,
      repo: repo.path,
      driver: 'systemd',
      scriptTimeouts: { build: '2m', test: '2m' },
      extra: [
        'disk: { minFree: 64kb, minFreePercent: 10 }',
        `desired: { file: ${desiredFile} }`,
        `notify:\n  - ${hook}, on: [disk_low, recovered] }`,
      ].join('\n'),
    });
    admin = new ApiClient({ socketPath: config.socket });
    await start();
    await waitFor(
      'blue and green Ready',
      async () => {
        const colors = (await status()).colors;
        return (colors?.blue.phase === 'Ready' && colors.green.phase === 'Ready') || null;
      },
      120_000,
    );
  });

  after(async () => {
    await daemon?.stop();
    await admin?.close();
    await receiver?.close();
    if (manager) {
      const driver = new SystemdDriver({ appName: config.appName, env: manager.env });
      for (const color of ['blue', 'green'] as const) await driver.uninstall(color).catch(() => undefined);
      await manager.release();
    }
    for (const mount of mounts) await mount.unmount();
    await scratch?.remove();
  });

  it('a rebuild on a full <root>/logs fails naming the path and the cause; blue serves throughout', async () => {
    // The rebuild empties the tag's own log folder first: gone already, it frees nothing to write into.
    await rm(path.join(config.root, 'logs', v2), { recursive: true, force: true });
    await logs.fill();
    const since = await lastEventId();
    const failed = await rebuildUnderLoad('failed');
    expect(failed.error)
      .to.contain(`${NO_SPACE} ${logs.dir}/${v2}/build.log`)
      .and.match(/fix: free space/);
    const reasons = (await events()).filter((e) => e.id > since && e.data?.tag === v2).map((e) => e.reason);
    expect(reasons).to.include('BuildFailed').and.not.include('BuildInterrupted');
  });

  it('status, hyperctl status, doctor (failing, with its fix) and disk_low name the low disk', async () => {
    const problem = await waitFor('the DiskSpace problem', async () =>
      (await status()).conditions.find((c) => c.type === 'DiskSpace' && c.status === 'False'),
    );
    expect(problem.message).to.contain(`${logs.dir}: 0 B free of 512 KiB`).and.contain('fix: free space');
    const env = { ...process.env, ...manager!.env, NO_COLOR: '1' };
    const shown = await runBin('hyperctl', ['status', '--config', config.path], env);
    expect(shown.stdout).to.match(new RegExp(`problems:[^]*DiskSpace Low: ${logs.dir}: 0 B free`));
    const doctor = await runBin('hyperctl', ['doctor', '--json', '--config', config.path], env);
    type Checks = { checks: Array<{ name: string; status: string; detail: string; fix: string | null }> };
    const disk = parseJson<Checks>(doctor, 'doctor').checks.find((c) => c.name === 'disk');
    expect(disk).to.include({ status: 'fail' });
    expect(disk!.detail).to.contain(`${logs.dir}: 0 B free`);
    expect(disk!.fix).to.contain(`free space on the file system of ${logs.dir}`);
    const low = (await events()).find((e) => e.reason === 'DiskLow' && e.data?.path === logs.dir);
    expect(low?.data).to.include({ freeBytes: 0 });
    // notify's disk_low comes from the same watch, by the same threshold.
    const message = await waitFor('the disk_low notification', async () => told().find((b) => b.kind === 'disk_low'));
    expect(message.summary).to.match(new RegExp(`^disk space low: ${logs.dir}: 0 B free .*below disk: 64 KiB or 10%`));
  });

  it('a restart on the full disk comes up, builds nothing again and serves blue', async () => {
    const since = await lastEventId();
    await daemon!.stop();
    await start();
    const traffic = load();
    const seen = new Set<string>();
    await waitFor('five passes of the restarted daemon', async () => {
      const at = (await status()).lastReconcileAt;
      if (at !== null) seen.add(at);
      return seen.size >= 5 || null;
    });
    traffic.stop();
    const served = await traffic.done;
    expect(served.failed, served.failures.join('\n')).to.equal(0);
    expect(await release(v2)).to.include({ status: 'failed' });
    const builds = (await events()).filter((e) => e.id > since && e.reason === 'BuildStarted');
    expect(builds.map((e) => e.message)).to.deep.equal([]);
    expect(daemon!.child.exitCode).to.equal(null);
    expect((await status()).conditions.find((c) => c.type === 'DiskSpace')).to.include({ status: 'False' });
  });

  it('a BUILD that floods its output onto the disk fails at once, naming the path and the cause', async () => {
    await logs.free();
    const flag = path.join(scratch.dir, 'flood');
    await writeFile(flag, '');
    try {
      const failed = await rebuildUnderLoad('failed');
      expect(failed.error).to.contain(`${NO_SPACE} ${logs.dir}/${v2}/build.log`);
      expect(failed.build?.timedOut).to.equal(false);
      expect(failed.build!.durationMs, 'stopped by the full disk, long before its timeout').to.be.below(60_000);
      expect(await processesMatching(flood)).to.deep.equal([]);
    } finally {
      await rm(flag, { force: true });
    }
  });

  it('a rebuild on a full <root>/artifacts fails naming the path and the cause, leaving no temp folder', async () => {
    await rm(path.join(config.root, 'logs', v2), { recursive: true, force: true });
    await artifacts.fill();
    const failed = await rebuildUnderLoad('failed');
    expect(failed.error)
      .to.match(/^BUILD exited with code 1/)
      .and.contain(`${NO_SPACE} ${artifacts.dir} (0 B free`);
    expect(await readFile(path.join(config.root, 'logs', v2, 'build.log'), 'utf8')).to.contain('ENOSPC');
    expect((await readdir(artifacts.dir)).filter((name) => name.startsWith('.build-'))).to.deep.equal([]);
  });

  it('the desired file written back onto a full disk is an event; with room, the next one is written', async () => {
    await desiredDir.fill();
    const before = await readFile(desiredFile, 'utf8');
    const doc = { active: 'blue', colors: { blue: { tag: v1 }, green: { tag: v2 } } };
    await admin.put('/desired', { ...doc, paused: true });
    const failed = await waitFor('DesiredFileWriteFailed', async () =>
      (await events()).find((e) => e.reason === 'DesiredFileWriteFailed'),
    );
    expect(failed.message).to.contain(`${NO_SPACE} ${desiredFile}`);
    expect(await readFile(desiredFile, 'utf8')).to.equal(before);
    expect(daemon!.child.exitCode).to.equal(null);
    await desiredDir.free();
    const latest = await admin.put<{ revision: { number: number } }>('/desired', { ...doc, paused: false });
    await waitFor(
      'the file to hold the latest revision',
      async () => (await readFile(desiredFile, 'utf8')).startsWith(`# revision ${latest.revision.number} `) || null,
    );
  });

  it('with room the rebuild passes, green is Ready, DiskOk answers DiskLow, recovered answers disk_low', async () => {
    await Promise.all([logs.free(), artifacts.free()]);
    await rebuildUnderLoad('succeeded');
    await waitFor(`green Ready at ${v2}`, greenReady, 60_000);
    await waitFor('the DiskSpace condition to be ok', async () =>
      (await status()).conditions.find((c) => c.type === 'DiskSpace' && c.status === 'True'),
    );
    // Each file system that went low (the logs and the artifacts did) ends answered by DiskOk.
    const disk = (await events()).filter((e) => e.reason === 'DiskLow' || e.reason === 'DiskOk');
    const paths = new Set(disk.map((e) => String(e.data?.path)));
    expect([...paths]).to.include.members([logs.dir, artifacts.dir]);
    for (const where of paths) expect(disk.findLast((e) => e.data?.path === where)?.reason, where).to.equal('DiskOk');
    const recovered = await waitFor('the recovered notification', async () =>
      told().find((b) => b.kind === 'recovered'),
    );
    expect(recovered.answers).to.include({ kind: 'disk_low' });
    expect(
      told().filter((b) => b.kind === 'disk_low'),
      'one disk_low in the quiet period',
    ).to.have.length(1);
    // Its own log took lines again once there was room, and not one of them is a stack trace.
    expect(daemon!.output())
      .to.match(/disk space ok again/)
      .and.not.match(STACK_LINE);
  });
});
