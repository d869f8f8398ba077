// A desired file source on a real file and a real embedded store, for the file-source tests: the
// scratch folder, the service, and a source that records what it reports. close() removes it all.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Revision } from '../../common/types.js';
import { DesiredFileSource, type FileSourceContext, type FileSourceRead } from '../../desired-state/file-source.js';
import { DesiredStateService } from '../../desired-state/revisions.js';
import { EmbeddedStore } from '../../store/embedded.js';
import { waitUntil } from './wait.js';

export const TAG_PATTERN = /^v\d{2}\.\d{2}\.\d{2}\.\d+$/;

export interface FileSourceFixture {
  dir: string;
  file: string;
  store: EmbeddedStore;
  service: DesiredStateService;
  /** What the running source reported, in order. */
  errors: Array<{ err: Error; context: FileSourceContext }>;
  reads: FileSourceRead[];
  /** Starts a source on the file (closing the one before: a daemon restart). */
  start(): Promise<DesiredFileSource>;
  latest(): Promise<Revision | null>;
  /** Waits until the file's first line names `revision` (the source wrote it back); returns the text. */
  fileShows(revision: number, timeoutMs?: number): Promise<string>;
  close(): Promise<void>;
}

export async function fileSourceFixture(): Promise<FileSourceFixture> {
  const dir = await mkdtemp(path.join(tmpdir(), 'desired-file-'));
  const file = path.join(dir, 'desired.yaml');
  const store = new EmbeddedStore({ path: path.join(dir, 'hypervisor.db') });
  await store.init();
  const service = new DesiredStateService(store, TAG_PATTERN);
  let source: DesiredFileSource | null = null;
  const fixture: FileSourceFixture = {
    dir,
    file,
    store,
    service,
    errors: [],
    reads: [],
    start: async () => {
      await source?.close();
      source = new DesiredFileSource({
        file,
        service,
        onError: (err, context) => fixture.errors.push({ err, context }),
        onRead: (read) => fixture.reads.push(read),
      });
      await source.start();
      return source;
    },
    latest: () => store.latestRevision(),
    fileShows: (revision, timeoutMs = 2000) =>
      waitUntil(
        () => readFile(file, 'utf8'),
        (text) => text.startsWith(`# revision ${revision} from `),
        { what: `the file to show revision ${revision}`, timeoutMs, intervalMs: 10 },
      ),
    close: async () => {
      await source?.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return fixture;
}
