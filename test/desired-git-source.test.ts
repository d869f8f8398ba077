// The config repo source against real git repos: a bare "upstream", an operator's clone that
// pushes commits to it, and the hypervisor's own clone; a real embedded store behind it.
import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { SimpleGit } from 'simple-git';
import { readFile } from 'node:fs/promises';
import { ConflictError, StaleRevisionError, WouldStopTrafficError } from '../common/errors.js';
import { DesiredGitSource } from '../desired-state/git-source.js';
import { DesiredStateService } from '../desired-state/revisions.js';
import { EmbeddedStore } from '../store/embedded.js';
import { createConfigRepo, type ConfigRepo } from './harness/config-repo.js';

const PATTERN = /^v\d{2}\.\d{2}\.\d{2}\.\d+$/;
const DOC_PATH = 'hypervisor/desired.yaml';
const doc = (blue: string, green: string | null, active: string): string =>
  `active: ${active}\ncolors:\n  blue: { tag: ${blue} }\n  green: { tag: ${green ?? 'null'} }\npaused: false\n`;

describe('desired-state git source (real git repos, embedded store)', function () {
  this.timeout(30_000);
  let dir: string;
  let operator: SimpleGit;
  let store: EmbeddedStore;
  let service: DesiredStateService;
  let source: DesiredGitSource;
  let errors: Array<{ message: string; sha: string | null }>;

  let repo: ConfigRepo;
  const push = (text: string, message: string): Promise<string> => repo.push(DOC_PATH, text, message);

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'desired-git-'));
    repo = await createConfigRepo(dir);
    operator = repo.operator;
    await push(doc('v26.11.27.0', null, 'blue'), 'first desired state');
    store = new EmbeddedStore({ path: path.join(dir, 'hypervisor.db') });
    await store.init();
    service = new DesiredStateService(store, PATTERN);
    errors = [];
    source = new DesiredGitSource({
      url: repo.url,
      branch: 'main',
      path: DOC_PATH,
      intervalMs: 60_000,
      workdir: path.join(dir, 'clone'),
      service,
      onError: (err, { sha }) => errors.push({ message: err.message, sha }),
    });
    await source.start();
  });

  afterEach(async () => {
    await source.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('turns the current commit into a revision with source git@<sha> and the commit author', async () => {
    const latest = await store.latestRevision();
    const sha = (await operator.revparse(['HEAD'])).trim();
    expect(latest!.source).to.equal(`git@${sha}`);
    expect(latest!.author).to.equal('Ana Operator <ana@example.invalid>');
    expect(latest!.doc.colors.blue.tag).to.equal('v26.11.27.0');
  });

  it('a commit that changes colors.green.tag becomes a new revision; an unchanged pull writes none', async () => {
    const sha = await push(doc('v26.11.27.0', 'v26.11.27.1', 'blue'), 'stage green');
    await source.pull();
    const latest = await store.latestRevision();
    expect(latest!.number).to.equal(2);
    expect(latest!.source).to.equal(`git@${sha}`);
    expect(latest!.doc.colors.green.tag).to.equal('v26.11.27.1');
    await source.pull();
    expect((await store.latestRevision())!.number).to.equal(2);
  });

  it('a broken YAML commit changes nothing and is reported with its SHA', async () => {
    const sha = await push('active: blue\ncolors: [\n', 'oops');
    await source.pull();
    expect((await store.latestRevision())!.number).to.equal(1);
    expect(source.lastError?.sha).to.equal(sha);
    expect(errors.at(-1)?.sha).to.equal(sha);
    expect(source.lastError?.message).to.match(/line/i);
    const fixed = await push(doc('v26.11.27.0', 'v26.11.27.1', 'blue'), 'fix');
    await source.pull();
    expect(source.lastError).to.equal(null);
    expect((await store.latestRevision())!.source).to.equal(`git@${fixed}`);
  });

  it('an API edit is committed (author: the hyperuser) and pushed before it is stored', async () => {
    const result = await service.update((d) => ({ ...d, colors: { ...d.colors, green: { tag: 'v26.11.27.1' } } }), {
      source: 'api',
      author: 'maria',
    });
    expect(result.changed).to.equal(true);
    await operator.pull('origin', 'main');
    const log = await operator.log({ maxCount: 1 });
    expect(log.latest!.author_name).to.equal('maria');
    expect(log.latest!.message).to.contain('api edit by maria');
    expect(await readFile(path.join(repo.worktree, DOC_PATH), 'utf8')).to.contain('v26.11.27.1');
    await source.pull();
    expect((await store.latestRevision())!.number).to.equal(2);
  });

  it('an edit racing an upstream commit is redone on top of it: both changes survive', async () => {
    await push(doc('v26.11.27.2', null, 'blue'), 'upstream: new blue tag');
    await service.update((d) => ({ ...d, colors: { ...d.colors, green: { tag: 'v26.11.27.1' } } }), {
      source: 'api',
      author: 'maria',
    });
    const latest = await store.latestRevision();
    expect(latest!.doc.colors.blue.tag).to.equal('v26.11.27.2');
    expect(latest!.doc.colors.green.tag).to.equal('v26.11.27.1');
    const history = await service.history(10);
    expect(history.map((r) => (r.source.startsWith('git@') ? 'git' : r.source))).to.deep.equal(['api', 'git', 'git']);
  });

  it('an If-Match edit on a stale base fails with a conflict and nothing changes', async () => {
    await push(doc('v26.11.27.2', null, 'blue'), 'upstream: new blue tag');
    let error: unknown = null;
    try {
      await service.apply(
        { active: 'blue', colors: { blue: { tag: 'v26.11.27.0' }, green: { tag: 'v26.11.27.1' } }, paused: false },
        { source: 'api', author: 'maria', expected: 1 },
      );
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(ConflictError);
    await operator.pull('origin', 'main');
    expect((await operator.log({ maxCount: 1 })).latest!.message).to.equal('upstream: new blue tag');
  });

  it('two If-Match edits of the same revision: one lands, the other is refused and leaves no commit', async () => {
    const edit = (green: string): Promise<unknown> =>
      service.apply(
        { active: 'blue', colors: { blue: { tag: 'v26.11.27.0' }, green: { tag: green } } },
        { source: 'api', author: 'maria', expected: 1 },
      );
    // Both pass the first check of revision 1; the second waits for the first's push and store.
    const settled = await Promise.allSettled([edit('v26.11.27.1'), edit('v26.11.27.2')]);
    expect(settled.map((s) => s.status)).to.deep.equal(['fulfilled', 'rejected']);
    expect((settled[1] as PromiseRejectedResult).reason).to.be.instanceOf(StaleRevisionError);
    await operator.pull('origin', 'main');
    const log = await operator.log();
    expect(log.all.map((c) => c.message)).to.deep.equal(['desired state: api edit by maria', 'first desired state']);
    expect(await readFile(path.join(repo.worktree, DOC_PATH), 'utf8')).to.contain('green: { tag: v26.11.27.1 }');
    const latest = await store.latestRevision();
    expect(latest).to.include({ number: 2, source: 'api' });
    expect(latest!.doc.colors.green.tag).to.equal('v26.11.27.1');
  });

  it('a commit that would stop traffic is refused, reported once with its SHA; allowOutage: true passes', async () => {
    const sha = await push('active: null\ncolors:\n  blue: { tag: v26.11.27.0 }\n', 'stop serving');
    await source.pull();
    await source.pull();
    expect((await store.latestRevision())!.number).to.equal(1);
    expect(errors.map((e) => e.sha)).to.deep.equal([sha]);
    expect(source.lastError?.message).to.contain('would stop traffic').and.to.contain('allowOutage: true');
    const confirmed = await push(
      'allowOutage: true\nactive: null\ncolors:\n  blue: { tag: v26.11.27.0 }\n',
      'stop serving, on purpose',
    );
    await source.pull();
    expect(source.lastError).to.equal(null);
    const latest = await store.latestRevision();
    expect(latest).to.include({ number: 2, source: `git@${confirmed}` });
    expect(latest!.doc.active).to.equal(null);
    // An API edit on top is committed without the confirmation: it confirmed one change only.
    await service.update((d) => ({ ...d, active: 'blue' }), { source: 'api', author: 'maria' });
    await operator.pull('origin', 'main');
    expect(await readFile(path.join(repo.worktree, DOC_PATH), 'utf8')).not.to.contain('allowOutage');
    const refused = await service
      .update((d) => ({ ...d, active: null }), { source: 'api', author: 'maria' })
      .then(
        () => null,
        (err: unknown) => err,
      );
    expect(refused).to.be.instanceOf(WouldStopTrafficError);
    await operator.pull('origin', 'main');
    expect((await operator.log()).total, 'a refused edit commits nothing').to.equal(4);
  });
});
