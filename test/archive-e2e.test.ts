// The log archive end to end, as an operator sees it: the real `hypervisor` binary (process units
// driver) with `archive.s3` pointing at a real S3-compatible server (s3rver on loopback), real builds
// of the example backend. Build and test logs land in the bucket byte for byte; with the server down
// the build and the loop go on while uploads fail, retry and show in status, and complete once it is
// back; after retention removed a pruned release's logs, `hyper-cli logs` prints the archived copies.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { StatusAnswer } from '../api/wire.js';
import type { Condition } from '../common/status.js';
import type { Color, EventRecord, ReleaseRecord } from '../common/types.js';
import { request, type Answer } from './api-harness.js';
import { removeProcessUnits, writeTestConfig, type TestConfig } from './harness/daemon-config.js';
import { runBin, scratchDir, startDaemonProcess, type DaemonProcess } from '../harness/daemon-process.js';
import { createExampleRepo } from '../harness/example-repo.js';
import { loginOperator } from './harness/operator.js';
import { startS3Server, type S3Server } from './harness/s3-server.js';
import { waitFor } from './harness/wait.js';

const [V1, V2, V3, V4] = ['v26.11.27.0', 'v26.11.27.1', 'v26.11.27.2', 'v26.11.27.3'];
const PREFIX = 'openhack/e2e';
const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
/** The log text in a server-sent-events answer: the JSON string of each event with an id, in order. */
const eventData = (text: string): string =>
  text
    .split('\n\n')
    .filter((m) => m.startsWith('id: '))
    .map((m) => JSON.parse(m.slice(m.indexOf('data: ') + 'data: '.length)) as string)
    .join('');

describe('log archive end to end (real daemon process, real builds, real s3rver)', function () {
  this.timeout(240_000);
  let scratch: { dir: string; remove(): Promise<void> };
  let s3: S3Server;
  let config: TestConfig | undefined;
  let daemon: DaemonProcess | undefined;
  let sessionFile: string;
  /** V1's logs as built, kept to compare with what the archive serves once the host's copies are gone. */
  const original: Record<string, Buffer> = {};

  const admin = <T>(method: string, route: string, body?: unknown): Promise<Answer<T>> =>
    request<T>({ socketPath: config!.socket }, method, route, body === undefined ? {} : { body });
  const status = async (): Promise<StatusAnswer> => (await admin<StatusAnswer>('GET', '/status')).json;
  const archived = async (): Promise<Condition | undefined> =>
    (await status()).status.conditions.find((c) => c.type === 'Archived');
  const release = async (tag: string): Promise<ReleaseRecord> =>
    (await admin<{ release: ReleaseRecord }>('GET', `/releases/${tag}`)).json.release;
  const events = async (): Promise<EventRecord[]> =>
    (await admin<{ events: EventRecord[] }>('GET', '/events?limit=1000')).json.events;
  const desire = async (active: Color, blue: string, green: string | null): Promise<void> => {
    const put = await admin('PUT', '/desired', { active, colors: { blue: { tag: blue }, green: { tag: green } } });
    expect(put.status, put.text).to.be.oneOf([200, 201]);
  };
  const readyAt = (color: Color, tag: string): Promise<StatusAnswer> =>
    waitFor(
      `${color} Ready at ${tag}`,
      async () => {
        const s = await status();
        const c = s.status.colors?.[color];
        return c?.phase === 'Ready' && c.runningTag === tag ? s : null;
      },
      90_000,
    );
  const localLog = (tag: string, step: string): string => path.join(config!.root, 'logs', tag, `${step}.log`);
  /**
   * The object once the daemon says it is uploaded (s3rver writes an object's bytes and its metadata
   * one after the other: a GET in between would see the bytes without the metadata); then it must
   * equal the host's copy byte for byte.
   */
  const inBucket = async (tag: string, step: string): Promise<Buffer> => {
    const key = `${PREFIX}/${tag}/${step}.log`;
    await waitFor(
      `${key} uploaded`,
      async () => (await events()).find((e) => e.reason === 'ArchiveUploaded' && e.data?.key === key),
      60_000,
    );
    const object = (await s3.get(key))!;
    const local = await readFile(localLog(tag, step));
    expect(object.bytes.equals(local), `${key} equals ${localLog(tag, step)}`).to.equal(true);
    expect(object.metadata.sha256, `${key} metadata`).to.equal(sha256(local));
    return local;
  };
  const hyperCli = (args: string[]): ReturnType<typeof runBin> =>
    runBin('hyper-cli', [...args, '--server', config!.publicUrl], { ...process.env, HYPER_CLI_SESSION: sessionFile });

  before(async () => {
    scratch = await scratchDir('hv-archive-e2e-');
    const repo = await createExampleRepo(path.join(scratch.dir, 'backend'));
    for (const tag of [V1, V2, V3, V4]) await repo.release(tag.slice(1));
    s3 = await startS3Server();
    config = await writeTestConfig({
      appName: `archive-${process.pid}`,
      dir: scratch.dir,
      repo: repo.path,
      preview: true,
      scriptTimeouts: { build: '30s', test: '30s' },
      extra: `${s3.configYaml(PREFIX)}policy: { autoStage: false, keepReleases: 1 }\nproxy: { drainTimeout: 1s }\n`,
    });
    daemon = await startDaemonProcess(config.path, {}, config.publicUrl);
    sessionFile = path.join(scratch.dir, 'session.json');
    await loginOperator({
      socket: config.socket,
      publicUrl: config.publicUrl,
      sessionFile,
      username: 'ana',
      password: 'archive operator password',
    });
  });

  after(async () => {
    await daemon?.stop();
    if (config) await removeProcessUnits(config);
    await s3?.close();
    await scratch?.remove();
  });

  it('puts the build and test logs of a real build in the bucket, byte for byte, with their SHA-256', async () => {
    await desire('blue', V1, null);
    await readyAt('blue', V1);
    for (const step of ['build', 'test']) original[step] = await inBucket(V1, step);
    expect(original.build!.toString()).to.match(/BUILD exited with code 0/);
    expect(original.test!.toString()).to.match(/TEST exited with code 0/);
    const condition = await waitFor('Archived up to date', async () => {
      const c = await archived();
      return c?.status === 'True' && c.reason === 'UpToDate' ? c : null;
    });
    expect(condition.message).to.contain(`s3://${s3.bucket}/${PREFIX}`);
  });

  it('server down: the build and the loop go on, uploads retry and show in status, then complete', async () => {
    await s3.stop();
    await desire('blue', V1, V2);
    await readyAt('green', V2);
    const built = await release(V2);
    // The step handed its log over and went on: TEST started right after BUILD ended.
    const gap = Date.parse(built.test!.startedAt) - Date.parse(built.build!.finishedAt);
    expect(gap, 'ms between BUILD and TEST').to.be.below(1000);
    const failing = await waitFor(
      'Archived False',
      async () => {
        const c = await archived();
        return c?.status === 'False' && /attempt [2-9]/.test(c.message) ? c : null;
      },
      30_000,
    );
    expect(failing.reason).to.equal('UploadFailing');
    expect(failing.message).to.contain(`${V2}/`).and.contain('ECONNREFUSED');
    const first = (await status()).status;
    const later = await waitFor('another pass', async () => {
      const s = (await status()).status;
      return s.lastReconcileAt !== first.lastReconcileAt ? s : null;
    });
    expect(later.lastPass!.durationMs, 'a pass is not held by the archive').to.be.below(1000);
    const shown = await hyperCli(['status']);
    expect(shown.stdout).to.match(new RegExp(`^ {2}Archived UploadFailing: .*${V2}/.*ECONNREFUSED`, 'm'));
    expect((await events()).map((e) => e.reason)).to.include('ArchiveUploadFailing');

    await s3.start();
    for (const step of ['build', 'test']) await inBucket(V2, step);
    await waitFor('Archived True again', async () => ((await archived())?.status === 'True' ? true : null), 60_000);
    const uploadedLate = (await events()).filter((e) => e.reason === 'ArchiveUploaded' && e.message.includes(V2));
    expect(uploadedLate.map((e) => e.message).join('\n')).to.match(/after \d+ failed attempt\(s\)/);
  });

  it("after retention removes a pruned release's logs, hyper-cli logs prints the archived copies", async () => {
    // keepReleases: 1. V1 goes once a later build succeeds while no color runs or wants it.
    await desire('green', V3, V2);
    await readyAt('blue', V3);
    await desire('green', V4, V2);
    await readyAt('blue', V4);
    await waitFor('V1 logs pruned', async () => (!existsSync(path.join(config!.root, 'logs', V1)) ? true : null));
    const pruned = (await events()).find((e) => e.reason === 'ArchivedLogsPruned');
    expect(pruned!.message).to.contain(`${V1}/build.log`).and.contain(`${V1}/test.log`);
    expect(existsSync(localLog(V2, 'build')), 'a release a color runs keeps its logs').to.equal(true);

    const build = await hyperCli(['logs', V1]);
    expect(build.code, build.stderr).to.equal(0);
    expect(build.stdout).to.equal(original.build!.toString());
    expect(build.stderr).to.contain('came from the archive').and.contain(`s3://${s3.bucket}/${PREFIX}/${V1}/build.log`);
    const test = await hyperCli(['logs', V1, '--test', '--json']);
    const answer = JSON.parse(test.stdout) as { source: string; sha256: string; lines: string[] };
    expect(answer.source).to.equal('archive');
    expect(answer.sha256).to.equal(sha256(original.test!));
    expect(`${answer.lines.join('\n')}\n`).to.equal(original.test!.toString());
    const raw = await admin<string>('GET', `/releases/${V1}/logs/build`);
    expect(raw.headers['x-hypervisor-log-source']).to.equal('archive');
    expect(raw.headers['x-hypervisor-log-sha256']).to.equal(sha256(original.build!));

    // The dashboard's EventSource: the archived copy as whole lines, resumed after the first line it saw.
    const lineEnd = original.build!.indexOf(0x0a) + 1;
    for (const [lastId, rest] of [
      [null, original.build!],
      [lineEnd, original.build!.subarray(lineEnd)],
    ] as const) {
      const headers = { accept: 'text/event-stream', ...(lastId === null ? {} : { 'last-event-id': String(lastId) }) };
      const sse = await request<string>({ socketPath: config!.socket }, 'GET', `/releases/${V1}/logs/build`, {
        headers,
      });
      expect(sse.headers['content-type']).to.match(/^text\/event-stream/);
      expect(sse.headers['x-hypervisor-log-source']).to.equal('archive');
      expect(eventData(sse.text)).to.equal(rest.toString());
    }
  });
});
