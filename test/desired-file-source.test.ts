// The desired file as a source, watched on a real file: edits become revisions within a second,
// bad edits are refused and reported, renames and deletions are seen. (Writing revisions back and
// applying edits as changes: desired-file-sync.test.ts.)
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { ValidationError } from '../common/errors.js';
import { type DesiredFileSource } from '../desired-state/file-source.js';
import { fileSourceFixture, type FileSourceFixture } from './harness/desired-file.js';
import { waitUntil } from './harness/wait.js';

/** The brief's promise: a valid edit becomes a revision within 1 s. */
const EDIT_DEADLINE_MS = 1000;

const V1 = 'active: blue\ncolors:\n  blue: { tag: v26.01.01.0 }\npaused: false\n';
const V2 = 'active: green\ncolors:\n  blue: { tag: v26.01.01.0 }\n  green: { tag: v26.01.02.0 }\npaused: false\n';
const V3 = 'active: green\ncolors:\n  green: { tag: v26.01.02.0 }\n';

describe('desired-state file source (real files, embedded store)', () => {
  let f: FileSourceFixture;
  let file: string;

  beforeEach(async () => {
    f = await fileSourceFixture();
    file = f.file;
  });

  afterEach(() => f.close());

  const latestNumber = async (): Promise<number> => (await f.latest())?.number ?? 0;
  const until = (what: string, check: () => boolean): Promise<boolean> =>
    waitUntil(async () => check(), Boolean, { what, timeoutMs: 3000, intervalMs: 10 });

  /** Writes `text` and returns how long until the store holds revision `number`. */
  async function editAndMeasure(text: string, number: number): Promise<number> {
    const start = performance.now();
    await writeFile(file, text);
    await waitUntil(latestNumber, (n) => n >= number, { what: `revision ${number}`, timeoutMs: 3000, intervalMs: 10 });
    return performance.now() - start;
  }

  it('applies the file as it is at start, as source "file", and writes it back under a header', async () => {
    await writeFile(file, V1);
    const source = await f.start();
    const latest = await f.latest();
    expect(latest).to.include({ number: 1, source: 'file', author: `file:${file}` });
    expect(latest!.doc.colors.blue.tag).to.equal('v26.01.01.0');
    expect(source.lastError).to.equal(null);
    expect(await f.fileShows(1)).to.match(new RegExp(`^# revision 1 from file by file:${file} at `));
  });

  it('turns a valid edit into a new revision within 1 s', async () => {
    await writeFile(file, V1);
    await f.start();
    const elapsed = await editAndMeasure(V2, 2);
    expect(elapsed, `took ${elapsed.toFixed(0)} ms`).to.be.below(EDIT_DEADLINE_MS);
    expect((await f.latest())!.doc.active).to.equal('green');
  });

  it('changes nothing on an invalid edit, says why, leaves it in the file, clears the error after a fix', async () => {
    await writeFile(file, V1);
    const src = await f.start();

    await writeFile(file, 'active: blue\ncolors: [\n');
    await until('the syntax error', () => src.lastError !== null);
    expect(src.lastError!.message).to.match(/not valid YAML: .* at line 3, column 1/);
    expect(src.lastError!.error).to.be.instanceOf(ValidationError);
    expect(Date.parse(src.lastError!.time)).to.be.closeTo(Date.now(), 5000);
    expect(f.errors[0]!.context).to.deep.equal({ file });

    const purple = 'active: blue\ncolors:\n  blue: { tag: v26.01.01.0 }\n  purple: { tag: v26.01.02.0 }\n';
    await writeFile(file, purple);
    await until('the unknown color', () => src.lastError?.message.includes('purple') ?? false);
    expect(src.lastError!.message).to.equal('colors.purple: unknown color "purple"');
    expect(await latestNumber()).to.equal(1);
    // A revision from elsewhere does not overwrite the refused edit: its author is still fixing it.
    await f.service.update((d) => ({ ...d, paused: true }), { source: 'api', author: 'ana' });
    await src.sync();
    expect(await readFile(file, 'utf8')).to.equal(purple);
    expect(f.errors).to.have.length(2);

    const elapsed = await editAndMeasure(V2, 3);
    expect(elapsed).to.be.below(EDIT_DEADLINE_MS);
    await until('the error to clear', () => src.lastError === null);
    expect(src.lastRead).to.include({ revision: 3, changed: true });
    expect(await f.fileShows(3)).to.contain('active: green');
  });

  it('creates no revision for an identical rewrite, even with other formatting', async () => {
    await writeFile(file, V1);
    const src = await f.start();
    for (const text of [
      V1,
      `# the same, commented\n${V1}`,
      JSON.stringify({ active: 'blue', colors: { blue: { tag: 'v26.01.01.0' } } }),
    ]) {
      const before = src.lastRead;
      await writeFile(file, text);
      await until('the rewrite to be read', () => src.lastRead !== before);
      expect(src.lastRead).to.include({ revision: 1, changed: false });
    }
    expect(await latestNumber()).to.equal(1);
  });

  it('sees the file replaced by rename, again and again', async () => {
    await writeFile(file, V1);
    await f.start();
    for (const [text, number] of [
      [V2, 2],
      [V3, 3],
    ] as const) {
      const start = performance.now();
      const temp = path.join(f.dir, `.desired.yaml.${number}.tmp`);
      await writeFile(temp, text);
      await rename(temp, file);
      await waitUntil(latestNumber, (n) => n === number, { what: `revision ${number} after rename`, timeoutMs: 3000 });
      expect(performance.now() - start).to.be.below(EDIT_DEADLINE_MS);
    }
    expect((await f.latest())!.doc.colors.blue.tag).to.equal(null);
  });

  it('waits for a missing file; a deleted one changes nothing and is written again; a new one is read', async () => {
    const src: DesiredFileSource = await f.start();
    expect(await latestNumber()).to.equal(0);
    expect(src.lastError).to.equal(null);

    await editAndMeasure(V1, 1);
    const written = await f.fileShows(1);
    await unlink(file);
    expect(await f.fileShows(1)).to.equal(written);
    expect(await latestNumber()).to.equal(1);
    expect(src.lastError).to.equal(null);

    const elapsed = await editAndMeasure(V2, 2);
    expect(elapsed).to.be.below(EDIT_DEADLINE_MS);
  });

  it('refuses to start twice', async () => {
    const src = await f.start();
    let error: unknown;
    await src.start().catch((err: unknown) => (error = err));
    expect(error).to.be.instanceOf(Error);
    expect((error as Error).message).to.match(/already started/);
  });
});
