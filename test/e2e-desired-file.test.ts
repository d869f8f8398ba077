// The desired file and the API agree, end to end: the real `hypervisor` binary with the systemd
// driver against a real `systemd --user`, a desired file an operator edits by hand, the API and
// hyper-cli. Every API revision shows in the file; a hand edit changes only what it changed; a
// change that would stop traffic is refused until it says so.
import { expect } from 'chai';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { StatusAnswer } from '../api/wire.js';
import type { Color, EventRecord } from '../common/types.js';
import { writeTestConfig } from './harness/daemon-config.js';
import { runBin, scratchDir, startDaemonProcess, type DaemonProcess, type Ran } from '../harness/daemon-process.js';
import { createExampleRepo } from '../harness/example-repo.js';
import { sharedUserManager, type SharedUserManager } from './harness/systemd-user.js';
import { loginOperator } from './harness/operator.js';
import { waitFor, waitUntil } from './harness/wait.js';

const V1 = '26.11.27.0';
const V2 = '26.11.27.1';
/** The promise: the file shows every API revision within 2 s. */
const WRITE_BACK_DEADLINE_MS = 2000;

describe('desired file and API agree, end to end (real systemd, real daemon)', function () {
  this.timeout(180_000);
  let manager: SharedUserManager;
  let scratch: { dir: string; remove(): Promise<void> };
  let daemon: DaemonProcess;
  let publicUrl: string;
  let desiredFile: string;
  let sessionFile: string;
  let token: string;
  /** The file as the operator's editor loaded it, at revision 1. */
  let editorCopy: string;

  const api = async <T>(method: string, route: string, body?: string): Promise<{ status: number; json: T }> => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${publicUrl}/hypervisor${route}`, { method, body, headers });
    return { status: response.status, json: (await response.json()) as T };
  };
  const status = async (): Promise<StatusAnswer> => (await api<StatusAnswer>('GET', '/status')).json;
  const served = async (): Promise<{ status: number; body: string }> => {
    const response = await fetch(`${publicUrl}/version`);
    return { status: response.status, body: await response.text() };
  };
  const readyAt = (color: Color, tag: string) => async (): Promise<StatusAnswer | null> => {
    const s = await status();
    const c = s.status.colors?.[color];
    return c?.phase === 'Ready' && c.runningTag === tag ? s : null;
  };
  const cli = (args: string[], input = ''): Promise<Ran> =>
    runBin('hyper-cli', [...args, '--server', publicUrl], { ...process.env, HYPER_CLI_SESSION: sessionFile }, input);
  /** Waits (with the deadline) until the file names `revision`; returns its text. */
  const fileShows = async (revision: number): Promise<string> => {
    const started = performance.now();
    const text = await waitUntil(
      () => readFile(desiredFile, 'utf8'),
      (t) => t.startsWith(`# revision ${revision} from `),
      { what: `the desired file to show revision ${revision}`, timeoutMs: WRITE_BACK_DEADLINE_MS, intervalMs: 20 },
    );
    expect(performance.now() - started).to.be.below(WRITE_BACK_DEADLINE_MS);
    return text;
  };
  const revisionEvent = async (revision: number): Promise<EventRecord | null> =>
    (await api<{ events: EventRecord[] }>('GET', '/events?limit=500')).json.events.find(
      (e) => e.reason === 'DesiredChanged' && e.message.startsWith(`revision ${revision} from `),
    ) ?? null;

  before(async () => {
    manager = await sharedUserManager();
    scratch = await scratchDir('hv-e2e-file-');
    const repo = await createExampleRepo(path.join(scratch.dir, 'backend'));
    await repo.release(V1);
    await repo.release(V2);
    desiredFile = path.join(scratch.dir, 'desired.yaml');
    await writeFile(desiredFile, `# written by hand\nactive: blue\ncolors:\n  blue: { tag: v${V1} }\n`);
    const config = await writeTestConfig({
      appName: `e2e-file-${process.pid}`,
      dir: scratch.dir,
      repo: repo.path,
      driver: 'systemd',
      extra: `desired: { file: ${desiredFile} }\nproxy: { drainTimeout: 2s }`,
    });
    const { path: configPath, socket: adminSocket } = config;
    publicUrl = config.publicUrl;
    daemon = await startDaemonProcess(configPath, manager.env, publicUrl);
    sessionFile = path.join(scratch.dir, 'session.json');
    token = await loginOperator({
      socket: adminSocket,
      publicUrl,
      sessionFile,
      username: 'ana',
      password: 'file-e2e-password',
    });
  });

  after(async () => {
    await daemon?.stop();
    await manager?.release();
    await scratch?.remove();
  });

  it('runs what the hand-written file declares and writes it back under a header naming revision 1', async () => {
    await waitFor('blue Ready at v1', readyAt('blue', `v${V1}`), 90_000);
    expect(await served()).to.deep.equal({ status: 200, body: V1 });
    editorCopy = await fileShows(1);
    expect(editorCopy).to.match(new RegExp(`^# revision 1 from file by file:${desiredFile} at `));
  });

  it('an API stage of green shows in the file within 2 s', async () => {
    const staged = await api<{ revision: { number: number }; color: Color }>(
      'POST',
      '/stage',
      JSON.stringify({ tag: `v${V2}` }),
    );
    expect(staged.status, JSON.stringify(staged.json)).to.equal(201);
    expect(staged.json.color).to.equal('green');
    const text = await fileShows(2);
    expect(text).to.match(/^# revision 2 from api by ana at /);
    expect(text).to.contain(`green: { tag: v${V2} }`);
    await waitFor('green Ready at v2', readyAt('green', `v${V2}`), 90_000);
  });

  it('a hand edit that only sets paused: true (on the copy loaded at revision 1) keeps both tags', async () => {
    await writeFile(desiredFile, editorCopy.replace('paused: false', 'paused: true'));
    const s = await waitFor('revision 3', async () => ((await status()).revision?.number === 3 ? status() : null));
    expect(s.revision!.source).to.equal('file');
    expect(s.revision!.doc).to.deep.equal({
      active: 'blue',
      colors: { blue: { tag: `v${V1}` }, green: { tag: `v${V2}` } },
      paused: true,
    });
    const event = await waitFor('the revision 3 event', () => revisionEvent(3));
    expect(event.message).to.equal('revision 3 from file: paused false -> true');
    expect((await revisionEvent(2))!.message).to.equal(`revision 2 from api: green none -> v${V2}`);
    expect(await served()).to.deep.equal({ status: 200, body: V1 });
    const resumed = await api<{ revision: { number: number } }>('POST', '/resume');
    expect(resumed.json.revision.number).to.equal(4);
    expect(await fileShows(4))
      .to.contain('paused: false')
      .and.to.contain(`green: { tag: v${V2} }`);
  });

  it('PUT {} is refused with 409 would_stop_traffic, and nothing stops', async () => {
    const refused = await api<{ error: { code: string; message: string } }>('PUT', '/desired', '{}');
    expect(refused.status).to.equal(409);
    expect(refused.json.error.code).to.equal('would_stop_traffic');
    expect(refused.json.error.message).to.contain('?confirm=outage');
    // Takes traffic off, keeping both tags: an outage all the same.
    const stopFile = path.join(scratch.dir, 'stop.yaml');
    await writeFile(stopFile, `active: null\ncolors:\n  blue: { tag: v${V1} }\n  green: { tag: v${V2} }\n`);
    const cliRefused = await cli(['desired', 'apply', '-f', stopFile]);
    expect(cliRefused.code, cliRefused.stdout + cliRefused.stderr).to.equal(4);
    expect(cliRefused.stderr).to.contain('--confirm-outage');
    // A whole pass after the refusals: still revision 4, both units running, blue answering.
    const pass = await api<{ status: StatusAnswer['status'] }>('POST', '/reconcile');
    expect(pass.json.status.observedRevision).to.equal(4);
    const s = await status();
    expect(s.revision!.number).to.equal(4);
    expect(s.status.colors!.blue.unit.activeState).to.equal('active');
    expect(s.status.colors!.green.unit.activeState).to.equal('active');
    expect(await served()).to.deep.equal({ status: 200, body: V1 });
  });

  it('confirmed with hyper-cli --confirm-outage, a change that takes traffic off is applied (503)', async () => {
    const confirmed = await cli(['desired', 'apply', '-f', path.join(scratch.dir, 'stop.yaml'), '--confirm-outage']);
    expect(confirmed.code, confirmed.stdout + confirmed.stderr).to.equal(0);
    expect(await fileShows(5)).to.contain('active: null');
    await waitUntil(served, (r) => r.status === 503, { what: 'the public port to answer 503', timeoutMs: 10_000 });
    const back = await api('PUT', '/desired', JSON.stringify({ ...(await status()).revision!.doc, active: 'blue' }));
    expect(back.status).to.equal(201);
    await waitUntil(served, (r) => r.status === 200, { what: 'blue serving again', timeoutMs: 10_000 });
  });

  it('PUT {} with ?confirm=outage applies: both colors stop, the public port is 503, the file shows it', async () => {
    const applied = await api<{ revision: { number: number } }>('PUT', '/desired?confirm=outage', '{}');
    expect(applied.status).to.equal(201);
    expect(applied.json.revision.number).to.equal(7);
    const text = await fileShows(7);
    expect(text).to.contain('active: null').and.to.contain('blue: { tag: null }').and.not.to.contain('allowOutage');
    await waitFor(
      'both units stopped',
      async () => {
        const c = (await status()).status.colors!;
        return c.blue.unit.activeState === 'inactive' && c.green.unit.activeState === 'inactive' ? c : null;
      },
      30_000,
    );
    expect((await served()).status).to.equal(503);
  });
});
