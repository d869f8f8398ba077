// The log archive against a real S3-compatible server (s3rver on loopback) and a real embedded
// store: logs land byte for byte with their SHA-256; a server that is down (or hangs) costs the step
// nothing, shows in the condition, and the upload completes once it is back; a restart uploads what
// was left pending; a full queue loses nothing; read-backs are checked against the recorded hash.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { text } from 'node:stream/consumers';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { LogArchive, type LogArchiveOptions } from '../archive/archive.js';
import { ArchiveCredentialsError } from '../archive/credentials.js';
import { ArchiveMismatchError } from '../archive/s3-target.js';
import type { ArchiveObject } from '../common/archive.js';
import type { S3ArchiveConfig } from '../config/archive.js';
import { EmbeddedStore } from '../store/embedded.js';
import { S3RVER_KEY, startS3Server, type S3Server } from './harness/s3-server.js';
import { waitFor, waitUntil } from './harness/wait.js';

const TAG = 'v26.11.27.0';
const sha256 = (bytes: Buffer | string): string => createHash('sha256').update(bytes).digest('hex');

describe('log archive (real s3rver, real embedded store)', function () {
  this.timeout(60_000);
  let s3: S3Server;
  let dir: string;
  let store: EmbeddedStore;
  /** Each test writes below its own prefix of the one server. */
  let prefix = '';
  let tests = 0;
  const open: LogArchive[] = [];

  const config = (overrides: Partial<S3ArchiveConfig> = {}): S3ArchiveConfig => ({
    endpoint: s3.endpoint,
    region: 'us-east-1',
    bucket: s3.bucket,
    prefix,
    forcePathStyle: true,
    ...s3.keyFiles,
    ...overrides,
  });
  const start = async (options: Partial<LogArchiveOptions> = {}): Promise<LogArchive> => {
    const archive = await LogArchive.start({
      config: config(),
      root: dir,
      store,
      retry: { retryBaseMs: 100, retryMaxMs: 400 },
      ...options,
    });
    open.push(archive);
    return archive;
  };
  const writeLog = async (name: string, content: Buffer | string): Promise<string> => {
    const file = path.join(dir, 'logs', TAG, name);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, content);
    return file;
  };
  const uploaded = (name: string, generation = 1): Promise<ArchiveObject> =>
    waitFor(`${name} uploaded`, async () => {
      const o = await store.archive.get(name);
      return o?.state === 'uploaded' && o.generation === generation ? o : null;
    });
  const reasons = async (): Promise<string[]> => (await store.listRecentEvents(200)).map((e) => e.reason);

  before(async () => {
    s3 = await startS3Server();
  });
  after(async () => {
    await s3?.close();
  });
  beforeEach(async () => {
    await s3.start();
    prefix = `hv/t${++tests}`;
    dir = await mkdtemp(path.join(os.tmpdir(), 'hv-archive-'));
    store = new EmbeddedStore({ path: path.join(dir, 'store.db') });
    await store.init();
  });
  afterEach(async () => {
    for (const archive of open.splice(0)) await archive.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('uploads a finished log byte for byte, its SHA-256 in the metadata and the store; 9 MiB in parts', async () => {
    const archive = await start();
    const small = Buffer.from('[pipeline] $ ./BUILD --output x\nbuilt 26.11.27.0 \u2713\n\u0000\xff end\n', 'latin1');
    const large = Buffer.alloc(9 * 1024 * 1024 + 123, 'log line with some text in it\n');
    archive.stepEnded(TAG, 'build', await writeLog('build.log', small));
    archive.stepEnded(TAG, 'test', await writeLog('test.log', large));
    for (const [step, bytes] of [
      ['build', small],
      ['test', large],
    ] as const) {
      const record = await uploaded(`${TAG}/${step}.log`);
      const key = `${prefix}/${TAG}/${step}.log`;
      expect(record).to.deep.include({ sha256: sha256(bytes), size: bytes.length, attempts: 0 });
      expect(record.location).to.deep.equal({ bucket: s3.bucket, key });
      const object = await s3.get(key);
      expect(object!.bytes.equals(bytes), `${step} bytes`).to.equal(true);
      expect(object!.metadata.sha256).to.equal(sha256(bytes));
    }
    expect(await reasons()).to.include('ArchiveUploaded');
    expect(archive.condition()).to.deep.include({ type: 'Archived', status: 'True' });
  });

  it('a server that is down: the log is handed over at once, uploads retry, the condition says why', async () => {
    const archive = await start();
    const conditions: string[] = [];
    archive.onConditionChange((c) => conditions.push(`${c.status} ${c.reason}`));
    await s3.stop();
    const file = await writeLog('build.log', 'BUILD output while the archive is down\n');
    const handedOver = performance.now();
    archive.stepEnded(TAG, 'build', file);
    expect(performance.now() - handedOver, 'stepEnded returns at once').to.be.below(100);
    const failing = await waitFor('two failed attempts', async () => {
      const o = await store.archive.get(`${TAG}/build.log`);
      return o && o.attempts >= 2 ? o : null;
    });
    expect(failing.state).to.equal('pending');
    expect(failing.lastError).to.contain('ECONNREFUSED');
    const condition = archive.condition();
    expect(condition).to.deep.include({ type: 'Archived', status: 'False', reason: 'UploadFailing' });
    expect(condition.message).to.contain(`${TAG}/build.log`).and.contain('ECONNREFUSED').and.contain('s3://');
    await s3.start();
    const done = await uploaded(`${TAG}/build.log`);
    expect((await s3.get(done.location!.key))!.bytes.toString()).to.equal('BUILD output while the archive is down\n');
    expect(archive.condition().status).to.equal('True');
    expect(conditions).to.include('False UploadFailing');
    expect(conditions.at(-1)).to.match(/^True /);
    const events = await store.listRecentEvents(200);
    expect(events.filter((e) => e.reason === 'ArchiveUploadFailing')).to.have.length(1);
    expect(events.find((e) => e.reason === 'ArchiveUploaded')!.message).to.match(/after \d+ failed attempt\(s\)$/);
  });

  it('a server that accepts and never answers: each attempt ends at its deadline, and it retries', async () => {
    const silent = net.createServer(() => undefined);
    const sockets = new Set<net.Socket>();
    silent.on('connection', (socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as net.AddressInfo;
      const archive = await start({
        config: config({ endpoint: `http://127.0.0.1:${port}` }),
        retry: { retryBaseMs: 100, retryMaxMs: 200, attemptTimeoutMs: 300 },
      });
      archive.stepEnded(TAG, 'build', await writeLog('build.log', 'hello\n'));
      const failing = await waitFor('two timed-out attempts', async () => {
        const o = await store.archive.get(`${TAG}/build.log`);
        return o && o.attempts >= 2 ? o : null;
      });
      expect(failing.lastError).to.match(/abort|timeout/i);
      expect(archive.condition().status).to.equal('False');
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('a restart uploads what an earlier daemon left pending', async () => {
    const file = await writeLog('test.log', 'TEST passed\n');
    await store.archive.queue({ name: `${TAG}/test.log`, kind: 'log', source: file });
    await start();
    const record = await uploaded(`${TAG}/test.log`);
    expect(record.sha256).to.equal(sha256('TEST passed\n'));
  });

  it('a full queue loses nothing: what did not fit is uploaded by a later sweep', async () => {
    const archive = await start({ sweepIntervalMs: 100, retry: { capacity: 1, retryBaseMs: 100, retryMaxMs: 200 } });
    const tags = ['v26.11.27.1', 'v26.11.27.2', 'v26.11.27.3', 'v26.11.27.4'];
    for (const tag of tags) {
      const file = path.join(dir, 'logs', tag, 'build.log');
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, `build of ${tag}\n`);
      archive.stepEnded(tag, 'build', file);
    }
    for (const tag of tags) {
      const record = await uploaded(`${tag}/build.log`);
      expect((await s3.get(record.location!.key))!.bytes.toString()).to.equal(`build of ${tag}\n`);
    }
  });

  it("a rebuild's new log replaces the archived one; a log gone before its upload is recorded missing", async () => {
    const archive = await start();
    const file = await writeLog('build.log', 'first run\n');
    archive.stepEnded(TAG, 'build', file);
    await uploaded(`${TAG}/build.log`, 1);
    await writeFile(file, 'second run, longer\n');
    archive.stepEnded(TAG, 'build', file);
    const second = await uploaded(`${TAG}/build.log`, 2);
    expect((await s3.get(second.location!.key))!.bytes.toString()).to.equal('second run, longer\n');
    archive.stepEnded(TAG, 'smoke', path.join(dir, 'logs', TAG, 'smoke.log'));
    const missing = await waitFor('smoke.log missing', async () => {
      const o = await store.archive.get(`${TAG}/smoke.log`);
      return o?.state === 'missing' ? o : null;
    });
    expect(missing.lastError).to.contain('smoke.log is gone');
    expect(await reasons()).to.include('ArchiveSourceMissing');
    expect(archive.condition().status).to.equal('True');
  });

  it('holds() only the bytes it has; open() reads them back checked, and cuts off a copy that differs', async () => {
    const archive = await start();
    const file = await writeLog('build.log', 'the real log\n');
    archive.stepEnded(TAG, 'build', file);
    const record = await uploaded(`${TAG}/build.log`);
    expect(await archive.holds(TAG, 'build', file)).to.equal(true);
    expect(await archive.holds(TAG, 'test', file), 'no such object').to.equal(false);
    const log = await archive.open(TAG, 'build');
    expect(log).to.deep.include({
      sha256: record.sha256,
      size: 13,
      location: `s3://${s3.bucket}/${record.location!.key}`,
    });
    expect(await text(log!.body)).to.equal('the real log\n');
    await writeFile(file, 'edited here\n');
    expect(await archive.holds(TAG, 'build', file), 'the local copy changed').to.equal(false);
    await tamper(record.location!.key, 'not the log\n', record.sha256!);
    const damaged = await archive.open(TAG, 'build');
    const err = await text(damaged!.body).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(ArchiveMismatchError);
    expect((err as Error).message).to.contain(record.sha256!);
  });

  it('refuses a key file others can read, and says which store refused the keys it was given', async () => {
    await chmod(s3.keyFiles.secretAccessKeyFile, 0o644);
    try {
      const err = await start().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(ArchiveCredentialsError);
      expect((err as Error).message)
        .to.contain('mode 0644')
        .and.contain('chmod 600');
    } finally {
      await chmod(s3.keyFiles.secretAccessKeyFile, 0o600);
    }
    const wrongId = path.join(dir, 'wrong-id');
    await writeFile(wrongId, 'NOT-THE-KEY\n', { mode: 0o600 });
    const archive = await start({ config: config({ accessKeyIdFile: wrongId }) });
    archive.stepEnded(TAG, 'build', await writeLog('build.log', 'x\n'));
    await waitUntil(
      async () => archive.condition().message,
      (m) => m.includes('403 InvalidAccessKeyId'),
      { what: 'the condition naming the refusal' },
    );
  });

  it('exports each day that ended: its deliveries raw and its ledger entries, as JSON lines, once', async () => {
    const DAY = 86_400_000;
    const day = (offset: number): string => new Date(Date.now() + offset * DAY).toISOString().slice(0, 10);
    const old = { deliveryId: 'd-old', event: 'push', payload: '{"ref":"refs/tags/v1", "spaced": true}' };
    const recent = { deliveryId: 'd-new', event: 'create', payload: '{"ref":"v2"}' };
    await store.insertGithubDelivery({ ...old, receivedAt: `${day(-2)}T10:00:00.000Z` });
    await store.insertGithubDelivery({ ...recent, receivedAt: `${day(0)}T00:00:01.000Z` });
    const entry = await store.startDeployment({
      color: 'blue',
      tag: TAG,
      version: null,
      revision: 1,
      switchedBy: 'ana',
      source: 'api',
    });
    // The clock says tomorrow: the days up to today are over, today's too.
    const archive = await start({ now: () => Date.now() + DAY + 3_600_000 });
    const lines = async (name: string): Promise<unknown[]> => {
      const record = await uploaded(name);
      const bytes = (await s3.get(record.location!.key))!.bytes;
      expect(record.sha256).to.equal(sha256(bytes));
      return bytes
        .toString()
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as unknown);
    };
    expect(await lines(`deliveries/${day(-2)}.jsonl`)).to.deep.equal([
      { ...old, receivedAt: `${day(-2)}T10:00:00.000Z` },
    ]);
    expect(await lines(`deliveries/${day(-1)}.jsonl`), 'a day without deliveries').to.deep.equal([]);
    expect(await lines(`deliveries/${day(0)}.jsonl`)).to.deep.equal([
      { ...recent, receivedAt: `${day(0)}T00:00:01.000Z` },
    ]);
    expect(await lines(`ledger/${day(0)}.jsonl`)).to.deep.equal([entry]);
    const before = await store.archive.list({}, 100);
    await archive.sweep();
    expect(await store.archive.list({}, 100), 'a second sweep queues nothing new').to.deep.equal(before);
    expect(await s3.keys(`${prefix}/`)).to.deep.equal(
      [`deliveries/${day(-2)}`, `deliveries/${day(-1)}`, `deliveries/${day(0)}`, `ledger/${day(0)}`].map(
        (name) => `${prefix}/${name}.jsonl`,
      ),
    );
  });

  /** Puts other bytes under the key, keeping the recorded hash in the metadata: a damaged copy. */
  async function tamper(key: string, body: string, recorded: string): Promise<void> {
    const client = new S3Client({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: S3RVER_KEY, secretAccessKey: S3RVER_KEY },
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    try {
      await client.send(
        new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: body, Metadata: { sha256: recorded } }),
      );
    } finally {
      client.destroy();
    }
  }
});
