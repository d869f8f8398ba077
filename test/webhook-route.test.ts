// POST /hypervisor/webhooks/github against a real daemon (in this process, process units driver),
// a real embedded store and a real git repo of the example backend. Every refusal is checked to
// write nothing, by counting the store's rows before and after.
import { expect } from 'chai';
import { createHmac, randomInt, randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { simpleGit } from 'simple-git';
import { signGithubBody } from '../api/github-signature.js';
import { classifyDelivery } from '../api/routes/webhooks.js';
import { startTestDaemon, type TestDaemon } from './api-harness.js';
import { scratchDir } from '../harness/daemon-process.js';
import { createExampleRepo, type ExampleRepo } from '../harness/example-repo.js';
import { waitFor } from './harness/wait.js';
import {
  fixture,
  payload,
  post,
  signed,
  tagCreate,
  tagPush,
  TEST_SECRET,
  WEBHOOK_PATH,
  type Delivery,
} from '../harness/github-deliveries.js';
import { storeCounts } from './harness/store-counts.js';

const REPOSITORY = 'test-org/backend';
const MAX_BODY = 16 * 1024;

describe('webhooks: POST /hypervisor/webhooks/github (real daemon, store and repo)', function () {
  this.timeout(60_000);
  let scratch: { dir: string; remove(): Promise<void> };
  let repo: ExampleRepo;
  let hv: TestDaemon;
  let dbFile: string;

  before(async () => {
    scratch = await scratchDir('hv-webhook-');
    repo = await createExampleRepo(path.join(scratch.dir, 'backend'));
    const secretFile = path.join(scratch.dir, 'webhook-secret');
    await writeFile(secretFile, `${TEST_SECRET}\n`, { mode: 0o600 });
    hv = await startTestDaemon({
      repo: repo.path,
      extraConfig:
        `github: { repository: ${REPOSITORY}, secretFile: ${secretFile}, maxBodyBytes: ` +
        `${MAX_BODY} }\npolicy: { autoStage: false }\n`,
    });
    dbFile = path.join(hv.dir, 'hypervisor.db');
  });
  after(async () => {
    await hv?.close();
    await scratch?.remove();
  });

  const send = (delivery: Delivery): ReturnType<typeof post> => post(hv.url, delivery);
  const sign = (event: string, body: Record<string, unknown> | string): Delivery => signed(TEST_SECRET, event, body);
  const shaOf = async (tag: string): Promise<string> =>
    (await simpleGit(repo.path).revparse([`${tag}^{commit}`])).trim();

  /** Sends `delivery`, expects `status` and `code`, and that the store did not change. */
  async function refused(delivery: Delivery, status: number, code: string): Promise<void> {
    const before = storeCounts(dbFile);
    const answer = await send(delivery);
    expect(answer.status, JSON.stringify(answer.json)).to.equal(status);
    expect(answer.json.error?.code).to.equal(code);
    expect(storeCounts(dbFile)).to.deep.equal(before);
  }

  it('answers a ping with 200 and keeps the delivery', async () => {
    const delivery = sign('ping', fixture('ping-payload.json', REPOSITORY));
    const before = storeCounts(dbFile);
    const answer = await send(delivery);
    expect(answer.status).to.equal(200);
    expect(answer.json).to.include({ ok: true, delivery: delivery.headers['x-github-delivery'] });
    expect(storeCounts(dbFile).githubEvents).to.equal(before.githubEvents + 1);
    const stored = await hv.daemon.store.getGithubDelivery(delivery.headers['x-github-delivery']!);
    expect(stored).to.include({ event: 'ping', payload: delivery.body.toString('utf8') });
  });

  describe('refuses, writing nothing', () => {
    const body = (): Record<string, unknown> => tagPush('v26.11.27.0', null, REPOSITORY);
    const without = (d: Delivery, name: string): Delivery => {
      const headers = { ...d.headers };
      delete headers[name];
      return { ...d, headers };
    };

    it('no signature (401)', async () => {
      await refused(without(sign('push', body()), 'x-hub-signature-256'), 401, 'bad_signature');
    });
    it('a wrong signature (401)', async () => {
      const d = sign('push', body());
      await refused(
        { ...d, headers: { ...d.headers, 'x-hub-signature-256': signGithubBody('another secret', d.body) } },
        401,
        'bad_signature',
      );
    });
    it('a signature over other bytes (401)', async () => {
      const d = sign('push', body());
      await refused({ ...d, body: Buffer.from(d.body.toString().replace('octocat', 'octocaT')) }, 401, 'bad_signature');
    });
    it('sha1= only (401)', async () => {
      const d = without(sign('push', body()), 'x-hub-signature-256');
      const sha1 = `sha1=${createHmac('sha1', TEST_SECRET).update(d.body).digest('hex')}`;
      await refused({ ...d, headers: { ...d.headers, 'x-hub-signature': sha1 } }, 401, 'bad_signature');
      await refused({ ...d, headers: { ...d.headers, 'x-hub-signature-256': sha1 } }, 401, 'bad_signature');
    });
    it('a truncated or malformed signature (401)', async () => {
      const d = sign('push', body());
      const good = d.headers['x-hub-signature-256']!;
      for (const bad of [
        good.slice(0, -2),
        good.slice(0, 7 + 32),
        `${good}00`,
        good.replace('sha256=', ''),
        'sha256=',
        `sha256=${'z'.repeat(64)}`,
      ]) {
        await refused({ ...d, headers: { ...d.headers, 'x-hub-signature-256': bad } }, 401, 'bad_signature');
      }
    });
    it('a missing X-GitHub-Delivery or X-GitHub-Event (400)', async () => {
      await refused(without(sign('push', body()), 'x-github-delivery'), 400, 'bad_delivery');
      await refused(without(sign('push', body()), 'x-github-event'), 400, 'bad_event');
    });
    it('another repository (403)', async () => {
      await refused(sign('push', tagPush('v26.11.27.0', null, 'someone-else/backend')), 403, 'wrong_repository');
      const { repository: _gone, ...anonymous } = tagPush('v26.11.27.0', null, REPOSITORY);
      await refused(sign('push', anonymous), 403, 'wrong_repository');
    });
    it('invalid JSON with a valid signature (400)', async () => {
      await refused(sign('push', '{"ref": "refs/tags/v26.11.27.0",'), 400, 'invalid_json');
      await refused(sign('push', '[1, 2]'), 400, 'invalid_json');
    });
    it('a body over the limit, by Content-Length, before reading it (413)', async () => {
      const before = storeCounts(dbFile);
      const answer = await rawRequest(
        hv.url,
        [
          `POST ${WEBHOOK_PATH} HTTP/1.1`,
          'Host: localhost',
          'Content-Type: application/json',
          'X-GitHub-Event: push',
          `X-GitHub-Delivery: ${randomUUID()}`,
          `Content-Length: ${MAX_BODY + 1}`,
          '',
          '{"only": "the first bytes"',
        ].join('\r\n'),
      );
      expect(answer).to.match(/^HTTP\/1\.1 413 /);
      expect(answer).to.match(/connection: close/i);
      expect(storeCounts(dbFile)).to.deep.equal(before);
    });
    it('a chunked body that grows over the limit (413)', async () => {
      const before = storeCounts(dbFile);
      const chunk = 'x'.repeat(4096);
      const chunks = Array.from({ length: 8 }, () => `${chunk.length.toString(16)}\r\n${chunk}\r\n`).join('');
      const answer = await rawRequest(
        hv.url,
        [
          `POST ${WEBHOOK_PATH} HTTP/1.1`,
          'Host: localhost',
          'Content-Type: application/json',
          'X-GitHub-Event: push',
          `X-GitHub-Delivery: ${randomUUID()}`,
          'Transfer-Encoding: chunked',
          '',
          chunks,
        ].join('\r\n'),
      );
      expect(answer).to.match(/^HTTP\/1\.1 413 /);
      expect(storeCounts(dbFile)).to.deep.equal(before);
    });
    for (const tag of [
      'v1$HOME',
      'v1;x',
      '-v1',
      '--upload-pack=x',
      `v${'1'.repeat(299)}`,
      'v1/../../etc',
      'simple-tag',
    ]) {
      const shown = tag.length > 20 ? `${tag.slice(0, 10)}... (${tag.length} bytes)` : tag;
      it(`the tag ${JSON.stringify(shown)} (400), as a push and as a create`, async () => {
        await refused(sign('push', tagPush(tag, null, REPOSITORY)), 400, 'invalid_tag');
        await refused(sign('create', tagCreate(tag, REPOSITORY)), 400, 'invalid_tag');
      });
    }
    it('a SHA that is not 40 hex digits is not trusted as one', () => {
      const intent = classifyDelivery('push', tagPush('v26.11.27.0', '--upload-pack=x', REPOSITORY));
      expect(intent).to.deep.include({ kind: 'tag', sha: null });
    });
  });

  it('answers a replayed delivery with duplicate: true and writes nothing new, also two copies at once', async () => {
    const first = sign('push', fixture('push-with-new-branch.payload.json', REPOSITORY));
    expect((await send(first)).status).to.equal(200);
    const before = storeCounts(dbFile);
    const replay = await send(first);
    expect(replay.status).to.equal(200);
    expect(replay.json).to.include({ duplicate: true });
    expect(storeCounts(dbFile)).to.deep.equal(before);

    const tag = await repo.release('26.11.27.3');
    const twin = sign('push', tagPush(tag, await shaOf(tag), REPOSITORY));
    const answers = await Promise.all([send(twin), send(twin), send(twin)]);
    expect(answers.map((a) => a.status).sort()).to.deep.equal([200, 200, 202]);
    expect(answers.filter((a) => a.json.duplicate === true)).to.have.length(2);
    expect(storeCounts(dbFile)).to.deep.equal({
      ...before,
      githubEvents: before.githubEvents + 1,
      releases: before.releases + 1,
    });
  });

  it('acknowledges and ignores branch pushes, tag deletions and other events, keeping them raw', async () => {
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      ['push', fixture('push-with-new-branch.payload.json', REPOSITORY), /not a tag/],
      ['push', { ...fixture('push-payload.json', REPOSITORY), ref: 'refs/tags/v26.11.27.0' }, /tag deletion/],
      ['delete', fixture('delete-payload.json', REPOSITORY), /delete events are not acted on/],
      ['create', { ...tagCreate('main', REPOSITORY), ref_type: 'branch' }, /creation is not a tag/],
    ];
    for (const [event, body, reason] of cases) {
      const before = storeCounts(dbFile);
      const answer = await send(sign(event, body));
      expect(answer.status, event).to.equal(200);
      expect(answer.json.ignored).to.equal(true);
      expect(String(answer.json.message)).to.match(reason);
      expect(storeCounts(dbFile)).to.deep.equal({ ...before, githubEvents: before.githubEvents + 1 });
    }
  });

  it('queues a new tag within a second; it is built and tested, with logs', async () => {
    const tag = await repo.release('26.11.27.1');
    const sha = await shaOf(tag);
    const answer = await send(sign('push', tagPush(tag, sha, REPOSITORY, 'ana')));
    expect(answer.status).to.equal(202);
    expect(answer.ms).to.be.below(1_000);
    expect(answer.json).to.include({ tag, known: false, queued: true, status: 'pending' });
    const release = await waitFor(
      `${tag} built`,
      async () => {
        const r = await hv.daemon.store.getRelease(tag);
        return r && ['succeeded', 'failed', 'rejected'].includes(r.status) ? r : null;
      },
      30_000,
    );
    expect(release).to.include({
      status: 'succeeded',
      sha,
      version: '26.11.27.1',
      author: 'Example Tester <tester@example.invalid>',
    });
    expect(release.origin).to.deep.equal({ source: 'webhook', actor: 'github:ana' });
    expect(release.taggedAt).to.match(/^\d{4}-\d{2}-\d{2}T/);
    expect(release.build).to.include({
      exitCode: 0,
      logPath: path.join(hv.daemon.config.root, 'logs', tag, 'build.log'),
    });
    expect(release.test).to.include({
      exitCode: 0,
      logPath: path.join(hv.daemon.config.root, 'logs', tag, 'test.log'),
    });
  });

  it('takes a create event for a new tag too, and answers the same tag again as known', async () => {
    const tag = await repo.release('26.11.27.2');
    const created = await send(sign('create', tagCreate(tag, REPOSITORY)));
    expect(created.status).to.equal(202);
    const again = await send(sign('push', tagPush(tag, await shaOf(tag), REPOSITORY)));
    expect(again.status).to.equal(200);
    expect(again.json).to.include({ known: true, queued: false });
    await waitFor(
      `${tag} succeeded`,
      async () => (await hv.daemon.store.getRelease(tag))?.status === 'succeeded' || null,
      30_000,
    );
    expect((await hv.daemon.store.getRelease(tag))!.sha).to.equal(await shaOf(tag));
  });

  it('refuses a tag that moved (409) and leaves the record as it was', async () => {
    const tag = 'v26.11.27.1';
    const before = await hv.daemon.store.getRelease(tag);
    expect(before?.status).to.equal('succeeded');
    const moved = '0123456789abcdef0123456789abcdef01234567';
    await refused(sign('push', tagPush(tag, moved, REPOSITORY)), 409, 'tag_moved');
    expect(await hv.daemon.store.getRelease(tag)).to.deep.equal(before);
  });

  it('records a safe tag that is not a release as rejected, with the reason', async () => {
    const answer = await send(sign('create', tagCreate('v1-beta', REPOSITORY)));
    expect(answer.status).to.equal(202);
    expect(answer.json).to.include({ status: 'rejected', queued: false });
    const record = await hv.daemon.store.getRelease('v1-beta');
    expect(record).to.include({ status: 'rejected', build: null });
    expect(record!.error).to.match(/does not match app\.tagPattern/);
  });

  it('records a tag whose VERSION differs as rejected once the pipeline looked at it', async () => {
    await repo.commitFile('VERSION', '26.11.27.9\n', 'VERSION that does not match its tag');
    await simpleGit(repo.path).addTag('v26.11.27.8');
    expect((await send(sign('create', tagCreate('v26.11.27.8', REPOSITORY)))).status).to.equal(202);
    const record = await waitFor(
      'v26.11.27.8 rejected',
      async () => {
        const r = await hv.daemon.store.getRelease('v26.11.27.8');
        return r?.status === 'rejected' ? r : null;
      },
      30_000,
    );
    expect(record.error).to.match(/VERSION at v26\.11\.27\.8 is "26\.11\.27\.9"/);
    expect(record.build).to.equal(null);
  });

  it('answers 503 with a clear message when github.secretFile is not configured', async () => {
    const bare = await startTestDaemon();
    try {
      const answer = await post(bare.url, sign('ping', payload('ping-payload.json')));
      expect(answer.status).to.equal(503);
      expect(answer.json.error).to.include({ code: 'webhooks_disabled' });
      expect(answer.json.error!.message).to.match(/github\.secretFile/);
    } finally {
      await bare.close();
    }
  });

  it('keeps answering within a second while a build runs', async () => {
    const sleep = `${randomInt(100, 999)}`;
    const original = await simpleGit(repo.path).show(['HEAD:BUILD']);
    await repo.commitFile(
      'BUILD',
      original.replace(
        "'use strict';",
        `'use strict';\nrequire('node:child_process').execFileSync('sleep', ['1.${sleep}']);`,
      ),
      'slow BUILD',
    );
    const tag = await repo.release('26.11.28.1');
    expect((await send(sign('push', tagPush(tag, await shaOf(tag), REPOSITORY)))).status).to.equal(202);
    await waitFor(
      `${tag} building`,
      async () => (await hv.daemon.store.getRelease(tag))?.status === 'building' || null,
      20_000,
    );
    const pings = await Promise.all(
      Array.from({ length: 20 }, () => send(sign('ping', fixture('ping-payload.json', REPOSITORY)))),
    );
    expect(
      pings.every((p) => p.status === 200 && p.ms < 1_000),
      JSON.stringify(pings.map((p) => [p.status, Math.round(p.ms)])),
    ).to.equal(true);
    await waitFor(
      `${tag} succeeded`,
      async () => (await hv.daemon.store.getRelease(tag))?.status === 'succeeded' || null,
      30_000,
    );
  });
});

/** Writes `text` on a raw socket and returns what the server answered before closing (or 5 s). */
function rawRequest(baseUrl: string, text: string): Promise<string> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    let received = '';
    // A deadline, not a wait: a server that never closes fails the test instead of hanging it.
    const timer = setTimeout(() => socket.destroy(), 5_000);
    socket.on('data', (chunk) => (received += chunk.toString('utf8')));
    // The server may close while we still write: what it answered before is what counts.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      if (received === '') reject(new Error('no answer'));
      else resolve(received);
    });
    socket.write(text);
  });
}
