// An operator's day against a real daemon (process units, the example backend in a real git repo):
// log in, read status, stage and build (following the build log as it grows), switch, roll back,
// plan, pause, If-Match; a viewer reads but may not switch; every change is audited by name.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import type { StatusAnswer } from '../api/wire.js';
import type { Color } from '../common/types.js';
import { startTestDaemon, type TestDaemon } from './api-harness.js';
import { openSse } from './harness/sse.js';
import { scratchDir } from '../harness/daemon-process.js';
import { createExampleRepo } from '../harness/example-repo.js';
import { waitUntil } from './harness/wait.js';

const V1 = '26.11.27.0';
const V2 = '26.11.27.1';

/**
 * A BUILD that says it started, then blocks on reading `gate` (a FIFO) until the test writes to it,
 * then runs the real one: the test sees the log grow while the build is still running.
 */
const gatedBuild = (gate: string): string => `#!/usr/bin/env node
'use strict';
const { execFileSync } = require('node:child_process');
const { readFileSync } = require('node:fs');
const path = require('node:path');
console.log('gated build: started');
readFileSync(${JSON.stringify(gate)});
console.log('gated build: going on');
execFileSync(process.execPath, [path.join(__dirname, 'BUILD.real'), ...process.argv.slice(2)], { stdio: 'inherit' });
console.log('gated build: done');
`;

describe('api: an operator stages, switches and rolls back (real daemon, real builds)', function () {
  this.timeout(180_000);
  let hv: TestDaemon;
  let repoDir: { dir: string; remove(): Promise<void> };
  let gate: string;
  let oscar: string;
  let vic: string;

  before(async () => {
    repoDir = await scratchDir('hv-api-repo-');
    const dir = path.join(repoDir.dir, 'backend');
    const repo = await createExampleRepo(dir);
    await repo.release(V1);
    await repo.commitFile('BUILD.real', await readFile(path.join(dir, 'BUILD'), 'utf8'), 'keep the real BUILD');
    gate = path.join(repoDir.dir, 'build-gate');
    execFileSync('mkfifo', [gate]);
    await repo.commitFile('BUILD', gatedBuild(gate), 'a BUILD that waits for the test');
    await repo.release(V2);
    hv = await startTestDaemon({ repo: dir });
    await hv.addUser('oscar', 'operator');
    await hv.addUser('vic', 'viewer');
    [oscar, vic] = await Promise.all([hv.login('oscar'), hv.login('vic')]);
  });
  after(async () => {
    await hv?.close();
    await repoDir?.remove();
  });

  const status = async (): Promise<StatusAnswer> =>
    (await hv.call<StatusAnswer>('GET', '/status', { token: vic })).json;
  const ready = (color: Color, tag: string): Promise<StatusAnswer> =>
    waitUntil(
      status,
      (s) => {
        const c = s.status.colors?.[color];
        return c?.phase === 'Ready' && c.runningTag === tag;
      },
      { what: `${color} Ready at ${tag}`, timeoutMs: 90_000, intervalMs: 200 },
    );
  const version = async (): Promise<string> => (await fetch(`${hv.url}/version`)).text();

  it('logs in, reads status, stages v1 on blue and serves it once Ready', async () => {
    const s = await status();
    expect(s.revision).to.equal(null);
    const staged = await hv.call<{ color: string; revision: { author: string; doc: { active: string } } }>(
      'POST',
      '/stage',
      { token: oscar, body: { tag: `v${V1}` } },
    );
    expect(staged.status, staged.text).to.equal(201);
    expect(staged.json.color).to.equal('blue');
    expect(staged.json.revision.author).to.equal('oscar');
    await ready('blue', `v${V1}`);
    expect(await version()).to.equal(V1);
  });

  it('stages v2 on green and follows its build log while it grows, to its end', async () => {
    const staged = await hv.call<{ color: string }>('POST', '/stage', { token: oscar, body: { tag: `v${V2}` } });
    expect(staged.json.color).to.equal('green');
    await waitUntil(
      () => hv.call<{ release: { status: string } }>('GET', `/releases/v${V2}`, { token: vic }),
      (a) => a.status === 200 && a.json.release.status === 'building',
      { what: 'v2 building', timeoutMs: 30_000 },
    );
    let streamed = '';
    let sawStart = (): void => undefined;
    const started = new Promise<void>((resolve) => (sawStart = resolve));
    const ended = new Promise<void>((resolve, reject) => {
      http
        .get(
          `${hv.url}/hypervisor/releases/v${V2}/logs/build?follow=1`,
          { headers: { authorization: `Bearer ${vic}` } },
          (res) => {
            expect(res.statusCode).to.equal(200);
            res.setEncoding('utf8');
            res.on('data', (text: string) => {
              streamed += text;
              if (streamed.includes('gated build: started')) sawStart();
            });
            res.on('end', resolve);
            res.on('error', reject);
          },
        )
        .on('error', reject);
    });
    const beforeEnd = await Promise.race([started.then(() => true), ended.then(() => false)]);
    expect(beforeEnd, `the stream ended before the build started:\n${streamed}`).to.equal(true);
    const during = await hv.call<{ release: { status: string } }>('GET', `/releases/v${V2}`, { token: vic });
    expect(during.json.release.status, 'the log arrives while the build runs').to.equal('building');
    expect(streamed).to.not.contain('gated build: done');
    await writeFile(gate, 'go\n');
    await ended;
    expect(streamed).to.contain('gated build: done');
    const release = await hv.call<{ release: { status: string; build: { logPath: string } } }>(
      'GET',
      `/releases/v${V2}`,
      { token: vic },
    );
    expect(release.json.release.status, 'the stream ends once the build is over').to.not.equal('building');
    expect(streamed).to.equal(await readFile(release.json.release.build.logPath, 'utf8'));
    await ready('green', `v${V2}`);
    const testLog = await hv.call('GET', `/releases/v${V2}/logs/test`, { token: vic });
    expect(testLog.status).to.equal(200);
    expect(testLog.headers['content-type']).to.match(/^text\/plain/);
  });

  it('sends a finished log as server-sent events: whole lines, offsets as ids, an end; resumable', async () => {
    const url = `${hv.url}/hypervisor/releases/v${V2}/logs/build`;
    const release = await hv.call<{ release: { build: { logPath: string } } }>('GET', `/releases/v${V2}`, {
      token: vic,
    });
    const log = await readFile(release.json.release.build.logPath, 'utf8');
    const whole = await openSse(url, { authorization: `Bearer ${vic}` });
    await whole.ended;
    expect(whole.messages.at(-1)?.event).to.equal('end');
    const lines = whole.messages.filter((m) => m.event === 'message');
    expect(lines.map((m) => JSON.parse(m.data) as string).join('')).to.equal(log);
    const first = lines[0]!;
    const offset = Number(first.id);
    expect(Buffer.from(log).subarray(0, offset).toString()).to.equal(JSON.parse(first.data));
    const resumed = await openSse(url, { authorization: `Bearer ${vic}`, 'last-event-id': String(offset) });
    await resumed.ended;
    const rest = resumed.messages.filter((m) => m.event === 'message').map((m) => JSON.parse(m.data) as string);
    expect(rest.join('')).to.equal(Buffer.from(log).subarray(offset).toString());
  });

  it('lets a viewer read but not switch (403, nothing written)', async () => {
    const before = (await hv.admin('GET', '/desired/history')).text;
    const refused = await hv.call<{ error: { code: string } }>('POST', '/switch', {
      token: vic,
      body: { to: 'green' },
    });
    expect(refused.status).to.equal(403);
    expect(refused.json.error.code).to.equal('forbidden');
    expect((await hv.admin('GET', '/desired/history')).text).to.equal(before);
    expect(await version()).to.equal(V1);
  });

  it('switches to green, shows an empty plan, and rolls back to blue', async () => {
    const switched = await hv.call<{ active: string }>('POST', '/switch', { token: oscar, body: {} });
    expect(switched.status, switched.text).to.equal(201);
    expect(switched.json.active).to.equal('green');
    expect(await version()).to.equal(V2);
    const plan = await hv.call<{
      actions: unknown[];
      waiting: string | null;
      colors: Record<Color, { phase: string }>;
    }>('GET', '/plan', { token: vic });
    expect(plan.json.actions).to.deep.equal([]);
    expect(plan.json.colors.blue.phase).to.equal('Ready');
    const rolled = await hv.call<{ active: string }>('POST', '/rollback', { token: oscar });
    expect(rolled.status, rolled.text).to.equal(201);
    expect(rolled.json.active).to.equal('blue');
    expect(await version()).to.equal(V1);
  });

  it('guards PUT /desired with If-Match and pauses and resumes the loop', async () => {
    const current = await hv.call<{ number: number; doc: object }>('GET', '/desired', { token: vic });
    const etag = current.headers.etag!;
    const doc = { active: 'blue', colors: { blue: { tag: `v${V1}` }, green: { tag: `v${V2}` } }, paused: true };
    const stale = await hv.call<{ error: { code: string } }>('PUT', '/desired', {
      token: oscar,
      body: doc,
      headers: { 'if-match': String(current.json.number - 1) },
    });
    expect(stale.status, 'a stale If-Match is a failed precondition').to.equal(412);
    expect(stale.json.error.code).to.equal('stale_revision');
    const put = await hv.call('PUT', '/desired', { token: oscar, body: doc, headers: { 'if-match': etag } });
    expect(put.status, put.text).to.equal(201);
    await waitUntil(status, (s) => s.status.paused, { what: 'status paused', timeoutMs: 10_000 });
    expect((await hv.call('POST', '/resume', { token: oscar })).status).to.equal(201);
    await waitUntil(status, (s) => !s.status.paused, { what: 'status resumed', timeoutMs: 10_000 });
  });

  it("audits every change with the operator's name", async () => {
    const { events } = (
      await hv.call<{ events: Array<{ reason: string; actor: string }> }>('GET', '/events?limit=1000', { token: vic })
    ).json;
    const mine = events.filter((e) => e.actor === 'oscar').map((e) => e.reason);
    for (const reason of ['LoggedIn', 'Staged', 'SwitchRequested', 'RollbackRequested', 'DesiredApplied', 'Resumed']) {
      expect(mine, reason).to.include(reason);
    }
    const history = (await hv.call<{ revisions: Array<{ author: string }> }>('GET', '/desired/history', { token: vic }))
      .json.revisions;
    expect(new Set(history.map((r) => r.author))).to.deep.equal(new Set(['oscar']));
  });
});
