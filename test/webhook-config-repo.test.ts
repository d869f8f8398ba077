// A push webhook for the config repo (desired.git.repository) makes the hypervisor pull it at
// once: the pull interval here is an hour, so only the delivery can bring the commit in.
import { expect } from 'chai';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Revision } from '../common/types.js';
import { ApiClient } from '../cli/client.js';
import { writeTestConfig } from './harness/daemon-config.js';
import { scratchDir, startDaemonProcess, type DaemonProcess } from '../harness/daemon-process.js';
import { createConfigRepo, type ConfigRepo } from './harness/config-repo.js';
import { createExampleRepo } from '../harness/example-repo.js';
import { waitFor } from './harness/wait.js';
import { fixture, post, signed, TEST_SECRET } from '../harness/github-deliveries.js';

describe('config repo push webhook', function () {
  this.timeout(60_000);
  let scratch: { dir: string; remove(): Promise<void> };
  let daemon: DaemonProcess;
  let admin: ApiClient;
  let repo: ConfigRepo;
  let publicUrl: string;

  const commit = async (paused: boolean): Promise<string> => {
    return repo.push('desired.yaml', `active: null\ncolors: {}\npaused: ${paused}\n`, `paused: ${paused}`);
  };
  const latest = async (): Promise<Revision> => (await admin.get<{ revision: Revision }>('/status')).revision;

  before(async () => {
    scratch = await scratchDir('hv-config-hook-');
    const backend = await createExampleRepo(path.join(scratch.dir, 'backend'));
    repo = await createConfigRepo(scratch.dir);
    await commit(false);
    await mkdir(path.join(scratch.dir, 'etc'));
    await writeFile(path.join(scratch.dir, 'etc', 'webhook-secret'), TEST_SECRET, { mode: 0o600 });
    const config = await writeTestConfig({
      appName: `hook-${process.pid}`,
      dir: scratch.dir,
      repo: backend.path,
      extra: `desired:
  git: { url: ${repo.url}, branch: main, path: desired.yaml, interval: 1h, repository: example/deploy }
github: { repository: example/backend, secretFile: ${path.join(scratch.dir, 'etc', 'webhook-secret')} }`,
    });
    publicUrl = config.publicUrl;
    daemon = await startDaemonProcess(config.path, {}, publicUrl);
    admin = new ApiClient({ socketPath: config.socket });
    // The listeners answer before the config repo is cloned and read: wait for its first revision.
    await waitFor('the first revision from the config repo', async () => (await latest()) ?? null, 20_000);
  });

  after(async () => {
    await admin?.close();
    await daemon?.stop();
    await scratch?.remove();
  });

  it('pulls the config repo at once on a signed branch push for it', async () => {
    const before = await latest();
    const sha = await commit(true);
    const push = {
      ...fixture('push-with-new-branch.payload.json', 'example/deploy'),
      ref: 'refs/heads/main',
      after: sha,
    };
    const answer = await post(publicUrl, signed(TEST_SECRET, 'push', push));
    expect(answer.status, JSON.stringify(answer.json)).to.equal(202);
    expect(answer.json.config).to.equal(true);
    const revision = await waitFor(
      'the pushed commit as a revision',
      async () => {
        const r = await latest();
        return r.number > before.number ? r : null;
      },
      5_000,
    );
    expect(revision.source).to.equal(`git@${sha}`);
    expect(revision.doc.paused).to.equal(true);
  });

  it('refuses a config-repo delivery with a wrong signature, and pulls nothing', async () => {
    const before = await latest();
    const sha = await commit(false);
    const push = {
      ...fixture('push-with-new-branch.payload.json', 'example/deploy'),
      ref: 'refs/heads/main',
      after: sha,
    };
    const answer = await post(publicUrl, signed('not the secret', 'push', push));
    expect(answer.status).to.equal(401);
    // Not a wait for a condition: that nothing happens has no event to wait on. A refused delivery is
    // answered before anything is scheduled, so a pull it started would show within this second.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect((await latest()).number).to.equal(before.number);
  });
});
