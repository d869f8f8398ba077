import { mkdtemp, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { ValidationError } from '../common/errors.js';
import { DesiredFileSource, type FileSourceContext } from '../desired-state/file-source.js';
import { DesiredStateService } from '../desired-state/revisions.js';
import { EmbeddedStore } from '../store/embedded.js';

const PATTERN = /^v\d{2}\.\d{2}\.\d{2}\.\d+$/;
/** The brief's promise: a valid edit becomes a revision within 1 s. */
const EDIT_DEADLINE_MS = 1000;

const V1 = 'active: blue\ncolors:\n  blue: { tag: v26.01.01.0 }\npaused: false\n';
const V2 = 'active: green\ncolors:\n  blue: { tag: v26.01.01.0 }\n  green: { tag: v26.01.02.0 }\npaused: false\n';
const V3 = 'active: green\ncolors:\n  green: { tag: v26.01.02.0 }\n';

/** Polls until `check` holds; returns the milliseconds it took, or throws at the deadline. */
async function waitFor(what: string, check: () => boolean | Promise<boolean>, deadlineMs = 3000): Promise<number> {
  const start = performance.now();
  while (!(await check())) {
    if (performance.now() - start > deadlineMs) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return performance.now() - start;
}

describe('desired-state file source (real files, embedded store)', () => {
  let dir: string;
  let file: string;
  let store: EmbeddedStore;
  let service: DesiredStateService;
  let source: DesiredFileSource | null;
  let reported: Array<{ err: Error; context: FileSourceContext }>;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'desired-file-'));
    file = path.join(dir, 'desired.yaml');
    store = new EmbeddedStore({ path: path.join(dir, 'hypervisor.db') });
    await store.init();
    service = new DesiredStateService(store, PATTERN);
    reported = [];
    source = null;
  });

  afterEach(async () => {
    await source?.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function startSource(): Promise<DesiredFileSource> {
    source = new DesiredFileSource({ file, service, onError: (err, context) => reported.push({ err, context }) });
    await source.start();
    return source;
  }

  async function latestNumber(): Promise<number> {
    return (await store.latestRevision())?.number ?? 0;
  }

  /** Writes `text` and returns how long until the store holds revision `number`. */
  async function editAndMeasure(text: string, number: number): Promise<number> {
    const start = performance.now();
    await writeFile(file, text);
    await waitFor(`revision ${number}`, async () => (await latestNumber()) >= number);
    return performance.now() - start;
  }

  it('applies the file as it is at start, as source "file"', async () => {
    await writeFile(file, V1);
    await startSource();
    const latest = await store.latestRevision();
    expect(latest).to.include({ number: 1, source: 'file', author: `file:${file}` });
    expect(latest!.doc.colors.blue.tag).to.equal('v26.01.01.0');
    expect(source!.lastError).to.equal(null);
  });

  it('turns a valid edit into a new revision within 1 s', async () => {
    await writeFile(file, V1);
    await startSource();
    const elapsed = await editAndMeasure(V2, 2);
    expect(elapsed, `took ${elapsed.toFixed(0)} ms`).to.be.below(EDIT_DEADLINE_MS);
    expect((await store.latestRevision())!.doc.active).to.equal('green');
  });

  it('changes nothing on an invalid edit, says why, and clears the error after a fix', async () => {
    await writeFile(file, V1);
    const src = await startSource();

    await writeFile(file, 'active: blue\ncolors: [\n');
    await waitFor('the syntax error', () => src.lastError !== null);
    expect(src.lastError!.message).to.match(/not valid YAML: .* at line 3, column 1/);
    expect(src.lastError!.error).to.be.instanceOf(ValidationError);
    expect(Date.parse(src.lastError!.time)).to.be.closeTo(Date.now(), 5000);
    expect(reported[0]!.context).to.deep.equal({ file });

    await writeFile(file, 'active: blue\ncolors:\n  blue: { tag: v26.01.01.0 }\n  purple: { tag: v26.01.02.0 }\n');
    await waitFor('the unknown color', () => src.lastError?.message.includes('purple') ?? false);
    expect(src.lastError!.message).to.equal('colors.purple: unknown color "purple"');
    expect(await latestNumber()).to.equal(1);

    const elapsed = await editAndMeasure(V2, 2);
    expect(elapsed).to.be.below(EDIT_DEADLINE_MS);
    await waitFor('the error to clear', () => src.lastError === null);
    expect(src.lastRead).to.include({ revision: 2, changed: true });
  });

  it('creates no revision for an identical rewrite, even with other formatting', async () => {
    await writeFile(file, V1);
    const src = await startSource();
    for (const text of [
      V1,
      `# the same, commented\n${V1}`,
      JSON.stringify({ active: 'blue', colors: { blue: { tag: 'v26.01.01.0' } } }),
    ]) {
      const before = src.lastRead;
      await writeFile(file, text);
      await waitFor('the rewrite to be read', () => src.lastRead !== before);
      expect(src.lastRead).to.include({ revision: 1, changed: false });
    }
    expect(await latestNumber()).to.equal(1);
  });

  it('sees the file replaced by rename, again and again', async () => {
    await writeFile(file, V1);
    await startSource();
    for (const [text, number] of [
      [V2, 2],
      [V3, 3],
    ] as const) {
      const start = performance.now();
      const temp = path.join(dir, `.desired.yaml.${number}.tmp`);
      await writeFile(temp, text);
      await rename(temp, file);
      await waitFor(`revision ${number} after rename`, async () => (await latestNumber()) === number);
      expect(performance.now() - start).to.be.below(EDIT_DEADLINE_MS);
    }
    expect((await store.latestRevision())!.doc.colors.blue.tag).to.equal(null);
  });

  it('waits for a missing file, keeps the state when it is deleted, and reads it when it comes back', async () => {
    const src = await startSource();
    expect(await latestNumber()).to.equal(0);
    expect(src.lastError).to.equal(null);

    await editAndMeasure(V1, 1);
    await unlink(file);
    // Deleting is not an edit: give the watcher time to see it, then check nothing was written.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await latestNumber()).to.equal(1);
    expect(src.lastError).to.equal(null);

    const elapsed = await editAndMeasure(V2, 2);
    expect(elapsed).to.be.below(EDIT_DEADLINE_MS);
  });

  it('refuses to start twice', async () => {
    const src = await startSource();
    let error: unknown;
    await src.start().catch((err: unknown) => (error = err));
    expect(error).to.be.instanceOf(Error);
    expect((error as Error).message).to.match(/already started/);
  });
});

describe('desired-state file source across a daemon restart', () => {
  it('does not undo a newer revision from another source with an older file, but applies an edit made while stopped', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'desired-file-restart-'));
    const file = path.join(dir, 'desired.yaml');
    const store = new EmbeddedStore({ path: path.join(dir, 'hypervisor.db') });
    await store.init();
    const service = new DesiredStateService(store, PATTERN);
    try {
      await writeFile(file, V1);
      let source = new DesiredFileSource({ file, service });
      await source.start();
      await source.close();
      // An operator switches through the API after the file was written.
      await service.apply(
        { active: 'green', colors: { blue: { tag: 'v26.01.01.0' }, green: { tag: 'v26.01.02.0' } }, paused: false },
        { source: 'api', author: 'ana' },
      );
      const afterApi = (await store.latestRevision())!.number;
      source = new DesiredFileSource({ file, service });
      await source.start();
      await source.close();
      expect((await store.latestRevision())!.number).to.equal(afterApi);
      expect((await store.latestRevision())!.source).to.equal('api');
      // The file edited while the daemon was down is newer than the API's revision: it wins.
      await new Promise((resolve) => setTimeout(resolve, 20));
      await writeFile(file, V3);
      source = new DesiredFileSource({ file, service });
      await source.start();
      await source.close();
      expect((await store.latestRevision())!.source).to.equal('file');
      expect((await store.latestRevision())!.doc.colors.blue.tag).to.equal(null);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
