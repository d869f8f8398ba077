// The desired file as a two-way source: every revision, whatever its source, is written to the file
// under a header naming it, and a hand edit applies as the change from that revision, so it never
// undoes what others wrote meanwhile. Real files, a real embedded store, real restarts of the source.
import { readFile, utimes, writeFile } from 'node:fs/promises';
import { expect } from 'chai';
import { WouldStopTrafficError } from '../common/errors.js';
import type { DesiredDoc } from '../common/types.js';
import { renderDesiredFile } from '../desired-state/file-text.js';
import { fileSourceFixture, type FileSourceFixture } from './harness/desired-file.js';
import { waitUntil } from './harness/wait.js';

const V1 = 'v26.01.01.0';
const V2 = 'v26.01.02.0';
const BLUE_V1 = `active: blue\ncolors:\n  blue: { tag: ${V1} }\npaused: false\n`;
const API = { source: 'api', author: 'ana' };
/** The promise: the file shows every API revision within 2 s. */
const WRITE_BACK_DEADLINE_MS = 2000;

const stageGreen = (d: DesiredDoc): DesiredDoc => ({ ...d, colors: { ...d.colors, green: { tag: V2 } } });
const switchGreen = (d: DesiredDoc): DesiredDoc => ({ ...d, active: 'green' });
const pause = (d: DesiredDoc): DesiredDoc => ({ ...d, paused: true });

describe('desired file as a two-way source (real files, embedded store)', () => {
  let f: FileSourceFixture;

  beforeEach(async () => {
    f = await fileSourceFixture();
  });

  afterEach(() => f.close());

  const revisionNumber = (n: number): Promise<unknown> =>
    waitUntil(
      async () => (await f.latest())?.number,
      (x) => x === n,
      { what: `revision ${n}`, timeoutMs: 3000 },
    );

  it('writes every revision from another source to the file within 2 s, under a header naming it', async () => {
    await writeFile(f.file, BLUE_V1);
    await f.start();
    for (const change of [stageGreen, switchGreen, pause]) {
      const { revision } = await f.service.update(change, API);
      const started = performance.now();
      const text = await f.fileShows(revision.number, WRITE_BACK_DEADLINE_MS);
      expect(performance.now() - started).to.be.below(WRITE_BACK_DEADLINE_MS);
      expect(text).to.equal(renderDesiredFile(revision));
      expect(text.split('\n', 1)[0]).to.equal(
        `# revision ${revision.number} from api by ana at ${revision.time}` +
          ` -- edits to this file are applied as changes from revision ${revision.number}`,
      );
    }
  });

  it('does not take its own write for an edit', async () => {
    await writeFile(f.file, BLUE_V1);
    const source = await f.start();
    expect(f.reads.map((r) => r.revision)).to.deep.equal([1]);
    const { revision } = await f.service.update(stageGreen, API);
    await f.fileShows(revision.number);
    // Read it again: on demand, and after a touch that the watcher and the stat poll both see.
    await source.sync();
    const now = new Date();
    await utimes(f.file, now, now);
    await source.sync();
    expect(
      f.reads.map((r) => r.revision),
      'no read was taken as an edit',
    ).to.deep.equal([1]);
    expect((await f.latest())!.number).to.equal(revision.number);
    expect(f.errors).to.deep.equal([]);
  });

  it('applies a hand edit made on an older copy as its change: only paused moves, both tags stay', async () => {
    await writeFile(f.file, BLUE_V1);
    await f.start();
    const copy = await f.fileShows(1); // what the operator's editor loaded
    await f.service.update(stageGreen, API);
    await f.fileShows(2);
    await writeFile(f.file, copy.replace('paused: false', 'paused: true')); // the editor saves its buffer
    await revisionNumber(3);
    const latest = (await f.latest())!;
    expect(latest).to.include({ source: 'file', author: `file:${f.file}` });
    expect(latest.doc).to.deep.equal({
      active: 'blue',
      colors: { blue: { tag: V1 }, green: { tag: V2 } },
      paused: true,
    });
    expect(await f.fileShows(3)).to.equal(renderDesiredFile(latest));
  });

  it('applies a file without a header whole, as one written from scratch', async () => {
    await writeFile(f.file, BLUE_V1);
    await f.start();
    await f.service.update(stageGreen, API);
    await f.fileShows(2);
    await writeFile(f.file, `active: blue\ncolors:\n  blue: { tag: ${V1} }\n`);
    await revisionNumber(3);
    expect((await f.latest())!.doc.colors.green.tag).to.equal(null);
  });

  it('refuses an edit that would stop traffic, leaves it in the file; allowOutage: true applies it once', async () => {
    await writeFile(f.file, BLUE_V1);
    const source = await f.start();
    const stop = (await f.fileShows(1)).replace('active: blue', 'active: null');
    await writeFile(f.file, stop);
    const refused = await waitUntil(
      async () => source.lastError,
      (e) => e !== null,
      { what: 'the refusal' },
    );
    expect(refused!.error).to.be.instanceOf(WouldStopTrafficError);
    expect(refused!.message).to.contain(`blue serves ${V1}`).and.to.contain('allowOutage: true');
    await source.sync();
    expect(await readFile(f.file, 'utf8')).to.equal(stop);
    expect((await f.latest())!.number).to.equal(1);

    await writeFile(f.file, `${stop}allowOutage: true\n`);
    await revisionNumber(2);
    expect((await f.latest())!.doc.active).to.equal(null);
    expect(await f.fileShows(2)).not.to.contain('allowOutage');
    expect(source.lastError).to.equal(null);
  });
});

describe('desired file across a daemon restart (real files, embedded store)', () => {
  let f: FileSourceFixture;

  beforeEach(async () => {
    f = await fileSourceFixture();
  });

  afterEach(() => f.close());

  it('an untouched file of an older revision changes nothing, and is brought up to date', async () => {
    await writeFile(f.file, BLUE_V1);
    const first = await f.start();
    await f.fileShows(1);
    await first.close();
    const { revision } = await f.service.update(stageGreen, API);
    await f.start();
    expect((await f.latest())!.number).to.equal(revision.number);
    expect(await f.fileShows(revision.number)).to.equal(renderDesiredFile(revision));
  });

  it('an edit made while the daemon was down applies as its change from the revision it names', async () => {
    await writeFile(f.file, BLUE_V1);
    const first = await f.start();
    const copy = await f.fileShows(1);
    await first.close();
    await f.service.update(stageGreen, API);
    await writeFile(f.file, copy.replace('paused: false', 'paused: true'));
    await f.start();
    const latest = (await f.latest())!;
    expect(latest).to.include({ number: 3, source: 'file' });
    expect(latest.doc).to.deep.equal({
      active: 'blue',
      colors: { blue: { tag: V1 }, green: { tag: V2 } },
      paused: true,
    });
  });

  it('a file without a header is applied whole only if it changed after the latest revision', async () => {
    // A file from before the hypervisor wrote revisions back: older than the API's revision.
    const { revision } = await f.service.apply(
      { active: 'blue', colors: { blue: { tag: V1 }, green: { tag: V2 } } },
      API,
    );
    await writeFile(f.file, BLUE_V1);
    const past = new Date(Date.parse(revision.time) - 60_000);
    await utimes(f.file, past, past);
    const first = await f.start();
    expect((await f.latest())!.number).to.equal(1);
    expect(await f.fileShows(1)).to.equal(renderDesiredFile(revision));
    await first.close();
    // Written from scratch while the daemon was down, after the latest revision: applied whole.
    await writeFile(f.file, BLUE_V1);
    const future = new Date(Date.parse(revision.time) + 60_000);
    await utimes(f.file, future, future);
    await f.start();
    expect((await f.latest())!).to.include({ number: 2, source: 'file' });
    expect((await f.latest())!.doc.colors.green.tag).to.equal(null);
  });
});
