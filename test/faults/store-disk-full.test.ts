// Fault: the embedded store's folder on a full disk (a 512 KiB tmpfs under a real daemon process).
// Invariants: a write the disk refuses answers 507 insufficient_storage naming the store file and
// the cause, never a 500 and never an answer after a half-applied write; the daemon serves on, its
// status names the low disk, and with room again writes are taken. Needs root to mount; says why it
// is skipped otherwise.
import { expect } from 'chai';
import path from 'node:path';
import { scratchDir } from '../../harness/daemon-process.js';
import { parseJson } from '../cli-harness.js';
import { mountTmpfs, whyNoTmpfs, type Tmpfs } from '../harness/tmpfs.js';
import { waitFor } from '../harness/wait.js';
import { newFaultHost, STACK_LINE, type FaultHost } from './fault-host.js';

type ErrorBody = { error: { code: string; message: string } };
type Applied = { revision: { number: number } };
type Desired = { number: number; doc: { paused: boolean } };

describe('faults: the store on a full disk (real daemon, real store file on a tmpfs)', function () {
  this.timeout(120_000);
  let host: FaultHost | null = null;
  let state: Tmpfs | null = null;

  const put = (paused: boolean) =>
    host!.admin<Applied & ErrorBody>('PUT', '/desired', { body: { active: null, colors: {}, paused } });
  const desired = async (): Promise<Desired> => (await host!.admin<Desired>('GET', '/desired')).json;
  const latest = async (): Promise<number> => (await desired()).number;

  before(async function () {
    const probe = await scratchDir('hv-fault-store-disk-probe-');
    const why = await whyNoTmpfs(probe.dir).finally(() => probe.remove());
    if (why !== null) {
      console.log(`      skipped: ${why}`);
      this.skip();
    }
    host = await newFaultHost('store-disk', {
      extraConfig: 'disk: { minFree: 64kb, minFreePercent: 10 }',
      prepare: async (dir) => void (state = await mountTmpfs(path.join(dir, 'state'))),
    });
    await host.start();
    expect((await put(true)).status).to.equal(201);
  });
  after(async () => {
    await host?.stop();
    await state?.unmount();
    await host?.close();
  });

  it('answers 507 naming the store file and the cause, and applies nothing of that write', async () => {
    await state!.fill();
    let refused: ErrorBody | null = null;
    let stored = await latest();
    // A checkpoint may leave pages of the WAL to write into: a few writes may still fit, each whole.
    for (let i = 0; i < 100 && refused === null; i++) {
      const answer = await put(i % 2 === 0);
      expect(answer.status, answer.text).to.be.oneOf([201, 507]);
      if (answer.status === 201) stored = answer.json.revision.number;
      else refused = answer.json;
    }
    expect(refused, 'no write was refused on a full disk').to.not.equal(null);
    expect(refused!.error.code).to.equal('insufficient_storage');
    expect(refused!.error.message).to.contain(`no space left on device at ${host!.storePath}; fix: free space`);
    expect(await latest()).to.equal(stored);
    expect((await host!.call('GET', '/healthz')).status).to.equal(200);
    expect(await host!.alive()).to.equal(true);
    expect(host!.output(), 'a chosen 507 logs no stack').to.not.match(STACK_LINE);
  });

  it('names the low disk in status; with room again the write is taken', async () => {
    const low = `DiskSpace Low: ${path.dirname(host!.storePath)}: 0 B free of 512 KiB`;
    await waitFor('the low disk among the problems of hyperctl status', async () => {
      const status = await host!.hyperctl(['status', '--json']);
      return parseJson<{ problems: string[] }>(status, 'status').problems.find((p) => p.startsWith(low));
    });
    await state!.free();
    const before = await desired();
    const answer = await put(!before.doc.paused);
    expect(answer.status, answer.text).to.equal(201);
    expect(await latest()).to.equal(before.number + 1);
  });
});
