// Retention with the log archive: a pruned release's local logs go only once the archive holds their
// exact bytes. With a real LogArchive on a real s3rver, a real embedded store and the process units
// driver (nothing installed): a log whose upload failed stays until it is uploaded; a kept release's
// logs never go; a local copy that differs from the archived one stays.
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LogArchive } from '../archive/archive.js';
import type { NewEvent } from '../common/types.js';
import { Retention } from '../reconciler/retention.js';
import { EmbeddedStore } from '../store/embedded.js';
import { ProcessDriver } from '../units/process-driver.js';
import { pendingRelease } from './harness/records.js';
import { startS3Server, type S3Server } from './harness/s3-server.js';
import { waitFor } from './harness/wait.js';

const [OLD, OLDER, NEW] = ['v26.11.27.1', 'v26.11.27.0', 'v26.11.27.2'];

describe('retention of logs with the archive (real s3rver, real store)', function () {
  this.timeout(60_000);
  let s3: S3Server;
  let dir: string;
  let store: EmbeddedStore;
  let driver: ProcessDriver;
  let archive: LogArchive;
  const events: NewEvent[] = [];

  const log = (tag: string, step: string): string => path.join(dir, 'logs', tag, `${step}.log`);
  const finish = async (tag: string, step: string, content: string): Promise<void> => {
    await mkdir(path.dirname(log(tag, step)), { recursive: true });
    await writeFile(log(tag, step), content);
    archive.stepEnded(tag, step, log(tag, step));
  };
  const uploaded = (tag: string, step: string): Promise<unknown> =>
    waitFor(`${tag}/${step}.log uploaded`, async () => {
      const o = await store.archive.get(`${tag}/${step}.log`);
      return o?.state === 'uploaded' ? o : null;
    });

  before(async () => {
    s3 = await startS3Server();
    dir = await mkdtemp(path.join(os.tmpdir(), 'hv-retention-'));
    store = new EmbeddedStore({ path: path.join(dir, 'store.db') });
    await store.init();
    driver = new ProcessDriver({ appName: `retention-${process.pid}`, stateDir: path.join(dir, 'run') });
    archive = await LogArchive.start({
      config: {
        endpoint: s3.endpoint,
        region: 'us-east-1',
        bucket: s3.bucket,
        prefix: 'retention',
        forcePathStyle: true,
        ...s3.keyFiles,
      },
      root: dir,
      store,
      retry: { retryBaseMs: 100, retryMaxMs: 300 },
    });
    // Oldest first: the store lists the newest release first.
    for (const tag of [OLDER, OLD, NEW]) await store.createRelease(pendingRelease(tag, { status: 'succeeded' }));
  });

  after(async () => {
    await archive?.close();
    await driver?.close();
    await store?.close();
    await s3?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("removes a pruned release's logs once archived, keeps one the archive lacks or differs from", async () => {
    const retention = new Retention({
      root: dir,
      keep: 1,
      store,
      driver,
      builds: () => new Set(),
      event: async (event) => void events.push(event),
      archive,
    });
    await finish(OLDER, 'build', 'older build\n');
    await finish(OLDER, 'test', 'older test\n');
    await finish(NEW, 'build', 'newest build\n');
    await uploaded(OLDER, 'build');
    await uploaded(OLDER, 'test');
    await uploaded(NEW, 'build');
    await s3.stop();
    await finish(OLD, 'build', 'old build, not archived yet\n');
    await writeFile(log(OLDER, 'test'), 'older test, edited on the host after its upload\n');
    await mkdir(path.join(dir, 'repos', NEW), { recursive: true });

    const first = await retention.prune();
    expect(first.logsRemoved).to.deep.equal([`${OLDER}/build.log`]);
    expect(existsSync(log(OLDER, 'test')), 'differs from the archived copy').to.equal(true);
    expect(existsSync(log(OLD, 'build')), 'not archived yet').to.equal(true);
    expect(existsSync(log(NEW, 'build')), 'kept: the newest').to.equal(true);
    expect(events.at(-1)).to.deep.include({ reason: 'ArchivedLogsPruned' });

    await s3.start();
    await uploaded(OLD, 'build');
    await rm(log(OLDER, 'test'));
    const second = await retention.prune();
    expect(second.logsRemoved).to.deep.equal([`${OLD}/build.log`]);
    expect(existsSync(path.join(dir, 'logs', OLD)), 'an emptied folder goes').to.equal(false);
    expect(existsSync(path.join(dir, 'logs', OLDER))).to.equal(false);
    expect(existsSync(log(NEW, 'build'))).to.equal(true);
  });
});
