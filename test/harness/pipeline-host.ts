// Where a test runs the release pipeline: a scratch folder holding a real git repo of the example
// backend, an embedded store, the root the pipeline writes under and an env root. pipeline() builds
// a ReleasePipeline on them (30 s script deadlines, the release tag pattern), a test overriding
// what it is about; close() closes the store and removes the folder.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ReleasePipeline, type ReleasePipelineOptions } from '../../reconciler/pipeline.js';
import { EmbeddedStore } from '../../store/embedded.js';
import { createExampleRepo, type ExampleRepo } from '../../harness/example-repo.js';

export const TAG_PATTERN = /^v\d{2}\.\d{2}\.\d{2}\.\d+$/;

export interface PipelineHost {
  base: string;
  repo: ExampleRepo;
  store: EmbeddedStore;
  /** Where the pipeline writes (`repos/`, `artifacts/`, `logs/`); not created until a run needs it. */
  root: string;
  envRoot: string;
  pipeline(overrides?: Partial<ReleasePipelineOptions>): ReleasePipeline;
  close(): Promise<void>;
}

export async function startPipelineHost(prefix: string): Promise<PipelineHost> {
  const base = await mkdtemp(path.join(os.tmpdir(), prefix));
  try {
    const repo = await createExampleRepo(path.join(base, 'repo'));
    const envRoot = path.join(base, 'env');
    await mkdir(envRoot);
    const store = new EmbeddedStore({ path: path.join(base, 'store.db') });
    await store.init();
    const root = path.join(base, 'root');
    return {
      base,
      repo,
      store,
      root,
      envRoot,
      pipeline: (overrides = {}) =>
        new ReleasePipeline({
          repo: repo.path,
          root,
          appBuild: { script: 'BUILD', timeoutMs: 30_000 },
          appTest: { script: 'TEST', timeoutMs: 30_000 },
          envRoot,
          tagPattern: TAG_PATTERN,
          store,
          killGraceMs: 500,
          ...overrides,
        }),
      close: async () => {
        await store.close();
        await rm(base, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(base, { recursive: true, force: true });
    throw err;
  }
}
