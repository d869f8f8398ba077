// Releases from GitHub end to end, as an operator sees them: the real `hypervisor` binary (process
// units driver), a real git repo of the example backend, signed deliveries over real sockets, the
// admin socket for the operator's side. A new tag is built, tested and staged on the inactive
// color while the active one keeps serving; failures stage nothing; a restart mid-build runs the
// build again once; retention keeps what a color needs.
import { expect } from 'chai';
import { randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { simpleGit } from 'simple-git';
import type { StatusAnswer } from '../api/wire.js';
import type { Color, EventRecord, ReleaseRecord, Revision } from '../common/types.js';
import { request, type Answer } from './api-harness.js';
import { removeProcessUnits, writeTestConfig, type TestConfig } from './harness/daemon-config.js';
import { scratchDir, startDaemonProcess, type DaemonProcess } from '../harness/daemon-process.js';
import { createExampleRepo, type ExampleRepo } from '../harness/example-repo.js';
import { waitFor } from './harness/wait.js';
import { post, signed, tagPush, TEST_SECRET } from '../harness/github-deliveries.js';
import { processesMatching } from './harness/processes.js';

const REPOSITORY = 'test-org/backend';
const V1 = 'v26.11.27.0';
const FINAL = new Set(['succeeded', 'failed', 'rejected']);

describe('releases from GitHub, end to end (real daemon process, process units)', function () {
  this.timeout(180_000);
  let scratch: { dir: string; remove(): Promise<void> };
  let repo: ExampleRepo;
  let daemon: DaemonProcess;
  let configPath: string;
  let publicUrl: string;
  let previewUrl: string;
  let socket: string;
  let root: string;
  let config: TestConfig | undefined;

  const admin = <T>(method: string, route: string, body?: unknown): Promise<Answer<T>> =>
    request<T>({ socketPath: socket }, method, route, body === undefined ? {} : { body });
  const status = async (): Promise<StatusAnswer> => (await admin<StatusAnswer>('GET', '/status')).json;
  const release = async (tag: string): Promise<ReleaseRecord | null> => {
    const answer = await admin<{ release: ReleaseRecord }>('GET', `/releases/${tag}`);
    return answer.status === 200 ? answer.json.release : null;
  };
  const finished = (tag: string, timeoutMs = 60_000): Promise<ReleaseRecord> =>
    waitFor(
      `${tag} built`,
      async () => {
        const r = await release(tag);
        return r && FINAL.has(r.status) ? r : null;
      },
      timeoutMs,
    );
  const readyAt = (color: Color, tag: string, timeoutMs = 60_000): Promise<StatusAnswer> =>
    waitFor(
      `${color} Ready at ${tag}`,
      async () => {
        const s = await status();
        const c = s.status.colors?.[color];
        return c?.phase === 'Ready' && c.runningTag === tag ? s : null;
      },
      timeoutMs,
    );
  const events = async (): Promise<EventRecord[]> =>
    (await admin<{ events: EventRecord[] }>('GET', '/events?limit=1000')).json.events;
  const latestRevision = async (): Promise<Revision> => (await status()).revision!;
  const push = async (tag: string, pusher = 'ana'): Promise<number> => {
    const sha = (await simpleGit(repo.path).revparse([`${tag}^{commit}`])).trim();
    const answer = await post(publicUrl, signed(TEST_SECRET, 'push', tagPush(tag, sha, REPOSITORY, pusher)));
    expect(answer.status, JSON.stringify(answer.json)).to.equal(202);
    return answer.ms;
  };
  const version = async (origin: string): Promise<{ status: number; body: string }> => {
    const res = await fetch(`${origin}/version`, { signal: AbortSignal.timeout(2_000) });
    return { status: res.status, body: await res.text() };
  };
  const start = async (): Promise<void> => {
    daemon = await startDaemonProcess(configPath, {}, publicUrl);
  };
  /** Stops the daemon cleanly and starts it again with `line` in place of the BUILD line of its config. */
  const restartWith = async (line: string): Promise<void> => {
    const text = config!.text.replace(/^ {2}build: .*$/m, `  ${line}`);
    expect(text).to.not.equal(config!.text);
    await writeFile(configPath, text);
    await daemon.stop();
    await start();
  };
  /** Kills the daemon as a crash would: no chance to record anything. */
  const crash = async (): Promise<void> => {
    daemon.child.kill('SIGKILL');
    await daemon.stop();
  };

  before(async () => {
    scratch = await scratchDir('hv-flow-');
    repo = await createExampleRepo(path.join(scratch.dir, 'backend'));
    await repo.release(V1.slice(1));
    const secretFile = path.join(scratch.dir, 'webhook-secret');
    await writeFile(secretFile, `${TEST_SECRET}\n`, { mode: 0o600 });
    config = await writeTestConfig({
      appName: `flow-${process.pid}`,
      dir: scratch.dir,
      repo: repo.path,
      preview: true,
      scriptTimeouts: { build: '5s', test: '30s' },
      // A long probe timeout: a backend stopped by SIGSTOP holds each pass that long (the restart test).
      healthTimeout: '30s',
      extra: `proxy: { drainTimeout: 2s }
github: { repository: ${REPOSITORY}, secretFile: ${secretFile} }
policy: { autoStage: true, autoPromote: false, keepReleases: 2 }`,
    });
    ({ path: configPath, publicUrl, socket, root } = config);
    previewUrl = config.previewUrl!;
    await start();
    const put = await admin('PUT', '/desired', { active: 'blue', colors: { blue: { tag: V1 } } });
    expect(put.status, put.text).to.equal(201);
    await readyAt('blue', V1);
  });

  after(async () => {
    await daemon?.stop();
    if (config) await removeProcessUnits(config);
    await scratch?.remove();
  });

  it('builds and tests a pushed tag, stages it on the inactive color, Ready, while the active one serves', async () => {
    const answers: Array<{ status: number; body: string }> = [];
    let stopLoad = false;
    const load = (async () => {
      const deadline = Date.now() + 90_000;
      while (!stopLoad && Date.now() < deadline) {
        answers.push(await version(publicUrl).catch((err: Error) => ({ status: 0, body: err.message })));
        // Not a wait: the pace of a steady client, so the load samples the whole release without flooding.
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    try {
      const tag = await repo.release('26.11.27.1');
      expect(await push(tag, 'ana')).to.be.below(1_000);
      const built = await finished(tag);
      expect(built).to.include({ status: 'succeeded', version: '26.11.27.1' });
      expect(built.origin).to.deep.equal({ source: 'webhook', actor: 'github:ana' });
      expect(built.build).to.include({ exitCode: 0 });
      expect(built.test).to.include({ exitCode: 0 });
      expect((await admin('GET', `/releases/${tag}/logs/build`)).text).to.match(
        /built .*26\.11\.27\.1[\s\S]*BUILD exited with code 0/,
      );
      expect((await admin('GET', `/releases/${tag}/logs/test`)).text).to.match(
        /TEST passed[\s\S]*TEST exited with code 0/,
      );

      const s = await readyAt('green', tag);
      expect(s.revision).to.deep.include({ source: 'webhook', author: 'github:ana' });
      expect(s.revision!.doc).to.deep.equal({
        active: 'blue',
        colors: { blue: { tag: V1 }, green: { tag } },
        paused: false,
      });
      expect(s.status.active).to.equal('blue');
      expect(await version(previewUrl)).to.deep.equal({ status: 200, body: '26.11.27.1' });
    } finally {
      stopLoad = true;
      await load;
    }
    expect(answers.length).to.be.above(10);
    expect(answers.filter((a) => a.status !== 200 || a.body !== V1.slice(1))).to.deep.equal([]);
  });

  it('records a failing TEST as failed with its log, and stages nothing', async () => {
    await repo.commitFile(
      'TEST',
      '#!/bin/sh\necho "checking the contract"\necho "boom: /ping answered 500" >&2\nexit 1\n',
      'break TEST',
    );
    const tag = await repo.release('26.11.27.2');
    const before = await latestRevision();
    await push(tag);
    const record = await finished(tag);
    expect(record).to.include({ status: 'failed' });
    expect(record.test).to.include({ exitCode: 1 });
    expect((await admin('GET', `/releases/${tag}/logs/test`)).text).to.match(/boom: \/ping answered 500/);
    await readyAt('green', 'v26.11.27.1');
    expect((await latestRevision()).number).to.equal(before.number);
    const staged = await admin<{ error: { code: string; message: string } }>('POST', '/stage', { tag });
    expect(staged.status, 'staging a failed release again is refused').to.equal(409);
    expect(staged.json.error.code).to.equal('release_failed');
    expect(staged.json.error.message).to.match(
      /TEST exited with code 1.*; its log: hyper-cli logs v26\.11\.27\.2 --test$/,
    );
    expect((await latestRevision()).number).to.equal(before.number);
    expect(await version(publicUrl)).to.deep.equal({ status: 200, body: V1.slice(1) });
  });

  it('kills a hanging BUILD at its timeout with its children, fails the release and stages nothing', async () => {
    const sleep = `1000.${randomInt(100_000, 999_999)}`;
    await repo.commitFile('BUILD', `#!/bin/sh\necho "building forever"\nsleep ${sleep} &\nwait\n`, 'hang BUILD');
    const tag = await repo.release('26.11.27.3');
    const before = await latestRevision();
    await push(tag);
    await waitFor(
      'the hanging BUILD to run',
      async () => (await processesMatching(`sleep ${sleep}`)).length > 0 || null,
      20_000,
    );
    const record = await finished(tag, 30_000);
    expect(record).to.include({ status: 'failed' });
    expect(record.build).to.include({ timedOut: true });
    expect(record.error).to.match(/^BUILD timed out after 5000 ms/);
    expect(await processesMatching(`sleep ${sleep}`)).to.deep.equal([]);
    expect((await latestRevision()).number).to.equal(before.number);
  });

  it('runs a build cut short by a daemon crash again once, stopping the scripts the crash left', async () => {
    // A BUILD that holds until a file appears, so nothing here hangs on how fast the host is: the
    // first run (it leaves `ran`) holds until the daemon that restarts stops it; the run after the
    // restart finds `ran` and passes. The timeout that the hung BUILD above proved is lifted first.
    await restartWith('build: { script: BUILD, timeout: 10m }');
    const hold = await holdingScripts(repo, scratch.dir, 'once');
    const tag = await repo.release('26.11.27.4');
    try {
      await push(tag, 'bo');
      await waitFor('BUILD to hold', async () => (await processesMatching(hold.needle)).length > 0 || null, 20_000);
      await crash();
      await start();
      const record = await finished(tag);
      expect(record).to.include({ status: 'succeeded', interruptions: 0 });
      const reasons = (await events()).filter((e) => e.data?.tag === tag).map((e) => e.reason);
      expect(reasons).to.include.members(['BuildLeftoverStopped', 'BuildInterrupted', 'BuildSucceeded']);
      expect(await processesMatching(hold.needle)).to.deep.equal([]);
      await readyAt('green', tag);
    } finally {
      await hold.release();
    }
  });

  it('keeps the checkouts and artifacts of the newest releases and of what the colors run', async () => {
    // keepReleases: 2. Built, oldest first: v1 (blue), .1 (green until .4 replaced it), .2 (failed TEST),
    // .3 (hung BUILD), .4. When .4 succeeded, green still ran .1: only .2 could go.
    await waitFor(
      'retention after .4',
      async () => (await events()).some((e) => e.reason === 'ReleasesPruned') || null,
      10_000,
    );
    expect(onDisk(root, 'v26.11.27.2')).to.deep.equal({ repo: false, artifact: false });
    expect(onDisk(root, 'v26.11.27.1')).to.deep.equal({ repo: true, artifact: true });
    expect(onDisk(root, 'v26.11.27.3')).to.deep.equal({ repo: true, artifact: false });
    expect(onDisk(root, V1)).to.deep.equal({ repo: true, artifact: true });
    expect(existsSync(path.join(root, 'logs', 'v26.11.27.2', 'test.log'))).to.equal(true);
    expect(await version(publicUrl)).to.deep.equal({ status: 200, body: V1.slice(1) });
  });

  it('fails a build cut short by a crash twice in a row instead of running it forever', async () => {
    // Every run holds (no `ran` shortcut): each crash leaves one, until the second restart gives up.
    const hold = await holdingScripts(repo, scratch.dir, 'twice', { always: true });
    const tag = await repo.release('26.11.27.5');
    const before = await latestRevision();
    try {
      await push(tag);
      const seen = new Set<number>();
      for (let crashes = 0; crashes < 2; crashes++) {
        // A holder not seen before: the run after a restart, not the leftover the restart stops.
        const pids = await waitFor(
          `BUILD to hold (${crashes + 1})`,
          async () => {
            const now = await processesMatching(hold.needle);
            return now.some((pid) => !seen.has(pid)) ? now : null;
          },
          20_000,
        );
        for (const pid of pids) seen.add(pid);
        await crash();
        await start();
      }
      const record = await finished(tag, 10_000);
      expect(record).to.include({ status: 'failed', interruptions: 2 });
      expect(record.error).to.match(/stopped during this build 2 times in a row; rebuild it on demand/);
      expect(await processesMatching(hold.needle)).to.deep.equal([]);
      expect((await latestRevision()).number).to.equal(before.number);
    } finally {
      // Released: the rebuild on demand below runs the same BUILD.
      await hold.release();
    }
  });

  it('rebuilds a release on demand, at the same commit', async () => {
    const tag = 'v26.11.27.5';
    const before = (await release(tag))!;
    const answer = await admin<{ release: ReleaseRecord }>('POST', `/releases/${tag}/rebuild`, {});
    expect(answer.status, answer.text).to.equal(202);
    expect(answer.json.release).to.include({ status: 'pending', sha: before.sha, interruptions: 0 });
    expect(answer.json.release.origin).to.deep.equal({ source: 'operator', actor: 'hyperctl' });
    const record = await finished(tag);
    expect(record).to.include({ status: 'succeeded', sha: before.sha });
    expect(await readFile(record.build!.logPath, 'utf8')).to.match(/BUILD exited with code 0/);
    // Rebuilt by an operator, not pushed: it is not staged on its own.
    await readyAt('green', 'v26.11.27.4');
    // Green runs .4 now, so .1 and .3 are past the newest two (.5, .4); v1 stays for blue.
    await waitFor(
      'retention after .5',
      async () => (!onDisk(root, 'v26.11.27.1').repo && !onDisk(root, 'v26.11.27.3').repo) || null,
      10_000,
    );
    expect(onDisk(root, V1)).to.deep.equal({ repo: true, artifact: true });
    expect(onDisk(root, 'v26.11.27.4')).to.deep.equal({ repo: true, artifact: true });
    expect((await admin('POST', '/releases/v26.11.30.9/rebuild', {})).status).to.equal(404);
    expect((await admin('POST', `/releases/${encodeURIComponent('v1;x')}/rebuild`, {})).status).to.equal(400);
  });

  it('stages a release that passed before a daemon crash: the next daemon stages it on its first passes', async () => {
    const tag = await repo.release('26.11.27.6');
    const before = await latestRevision();
    const blue = (await status()).status.colors!.blue.unit.mainPid!;
    // A stopped blue holds every pass in its health probe (30 s), so the daemon cannot reach the
    // policy between the build's end and the crash: the crash surely comes before any stage.
    process.kill(blue, 'SIGSTOP');
    try {
      await push(tag, 'dee');
      expect(await finished(tag)).to.include({ status: 'succeeded' });
      expect((await latestRevision()).number, 'not staged before the crash').to.equal(before.number);
      await crash();
    } finally {
      process.kill(blue, 'SIGCONT');
    }
    await start();
    const s = await readyAt('green', tag);
    expect(s.revision).to.deep.include({ source: 'webhook', author: 'github:dee' });
    expect(s.revision!.doc.colors).to.deep.equal({ blue: { tag: V1 }, green: { tag } });
    expect((await events()).filter((e) => e.reason === 'AutoStaged' && e.data?.tag === tag)).to.have.length(1);
    expect(await version(publicUrl)).to.deep.equal({ status: 200, body: V1.slice(1) });
  });
});

function onDisk(root: string, tag: string): { repo: boolean; artifact: boolean } {
  return { repo: existsSync(path.join(root, 'repos', tag)), artifact: existsSync(path.join(root, 'artifacts', tag)) };
}

interface Hold {
  /** In the command line of a holding BUILD's wait, and of nothing else. */
  needle: string;
  /** Lets every holder go (for the tests after; a holder the daemon failed to stop ends too). */
  release(): Promise<void>;
}

/**
 * Commits BUILD and TEST as the example has them, BUILD first holding until a gate file exists:
 * on its first run only, or on every run with `always`. A hold is a shell waiting on the file, so
 * it ends only when stopped or released, never on its own after some time.
 */
async function holdingScripts(
  repo: ExampleRepo,
  dir: string,
  name: string,
  options: { always?: boolean } = {},
): Promise<Hold> {
  const gate = path.join(dir, `gate-${name}-${randomInt(100_000, 999_999)}`);
  const ran = `${gate}.ran`;
  const git = simpleGit(repo.path);
  const build = await git.show([`${V1}:BUILD`]);
  const wait = `'until [ -e "$1" ]; do sleep 0.1; done', 'hold', ${JSON.stringify(gate)}`;
  // BUILD declares its own `fs`: this runs in a block of its own.
  const holdFirst = `{
const fs = require('node:fs');
if (${options.always ? 'true' : `!fs.existsSync(${JSON.stringify(ran)})`}) {
  fs.writeFileSync(${JSON.stringify(ran)}, '');
  require('node:child_process').execFileSync('sh', ['-c', ${wait}]);
}
}`;
  await repo.commitFile('TEST', await git.show([`${V1}:TEST`]), 'TEST passes again');
  await repo.commitFile(
    'BUILD',
    build.replace("'use strict';", `'use strict';\n${holdFirst}`),
    `BUILD holding (${name})`,
  );
  return { needle: gate, release: () => writeFile(gate, '') };
}
