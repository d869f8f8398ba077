// The build pipeline of one release (ARCHITECTURE.md, "The backend contract"): check the tag, settle
// its SHA and check it out from the bare mirror, check VERSION, run BUILD into a temporary folder
// that becomes <root>/artifacts/<tag>/, then run TEST. Every stage writes the release record as it
// goes, so an operator can follow building -> testing -> succeeded | failed | rejected | interrupted.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { ConflictError } from '../common/errors.js';
import { statelessPattern } from '../common/git-names.js';
import type { ReleaseRecord } from '../common/types.js';
import { guardWrite, WriteFailedError } from '../common/write-failure.js';
import type { ReleasePatch, Store } from '../store/store.js';
import { replaceDir, requireExecutable } from './pipeline/artifact.js';
import { fullDiskNote } from './pipeline/disk-full.js';
import { stopLeftoverSteps } from './pipeline/leftovers.js';
import { RepoMirror } from './pipeline/mirror.js';
import { validateOptions, type PipelineSettings, type ReleasePipelineOptions } from './pipeline/options.js';
import { BUILD_TEMP_PREFIX, gitMarkOf, removeBuildTemps, stopOrphanGit } from './pipeline/orphans.js';
import { startRecord } from './pipeline/record.js';
import { releasePaths, runReleaseStep, type ReleasePaths, type StepKind } from './pipeline/release-step.js';
import { prepareSource, versionMismatch } from './pipeline/source.js';
import type { StepRun } from './pipeline/step.js';
import { checkpoint, reasonOf, ReleaseStopped } from './pipeline/stopped.js';
import { assertReleaseTag } from './pipeline/tag.js';
import type { BuildLeftovers, LeftoversCleared, ReleaseBuilder } from './ports.js';

export type { ReleasePipelineOptions };

export class ReleasePipeline implements ReleaseBuilder, BuildLeftovers {
  readonly mirror: RepoMirror;
  readonly #settings: PipelineSettings;
  readonly #store: Store;
  readonly #pattern: RegExp;
  /** Tags being built by this pipeline: two runs of one tag would share their folders. */
  readonly #running = new Set<string>();
  /**
   * The clearing of leftovers in progress (settled when none): a run waits for it before it starts,
   * since the clearing removes build folders and stops marked scripts of every tag not running when
   * it began, and would take a run that started meanwhile for a leftover.
   */
  #clearing: Promise<unknown> = Promise.resolve();

  constructor(options: ReleasePipelineOptions) {
    this.#settings = validateOptions(options);
    this.#store = options.store;
    this.#pattern = statelessPattern(options.tagPattern);
    const { repo, root, gitTimeoutMs } = this.#settings;
    const dir = path.join(root, 'mirror.git');
    this.mirror = new RepoMirror({ repo, dir, timeoutMs: gitTimeoutMs, mark: gitMarkOf(root) });
  }

  /** Where running script groups are marked (see pipeline/leftovers.ts). */
  get marksDir(): string {
    return path.join(this.#settings.root, 'run', 'builds');
  }

  /**
   * Ends what builds of an earlier daemon left running (their scripts, their git) and removes their
   * temporary folders; this daemon's own builds are left alone, and none starts until it is done.
   */
  clearLeftovers(): Promise<LeftoversCleared> {
    const clearing = this.#clearAfter(this.#clearing);
    this.#clearing = clearing.catch(() => undefined);
    return clearing;
  }

  async #clearAfter(previous: Promise<unknown>): Promise<LeftoversCleared> {
    await previous;
    const { root, killGraceMs: graceMs, containment } = this.#settings;
    const running = new Set(this.#running);
    const tags = await stopLeftoverSteps(this.marksDir, { graceMs, containment, running });
    const gitProcesses = await stopOrphanGit(gitMarkOf(root), graceMs);
    const tempFolders = await removeBuildTemps(path.join(root, 'artifacts'), running);
    return { tags, gitProcesses, tempFolders };
  }

  /** Settles once no clearing of leftovers runs (a stop meanwhile is seen by the run's checkpoints). */
  async #cleared(): Promise<void> {
    for (let clearing = this.#clearing; ; clearing = this.#clearing) {
      await clearing;
      if (clearing === this.#clearing) return;
    }
  }

  /** The folders builds write to that lie on a full file system, with the fix; null when there is room. */
  fullDisk(): Promise<string | null> {
    const { root } = this.#settings;
    return fullDiskNote([path.join(root, 'logs'), path.join(root, 'artifacts'), path.join(root, 'repos'), root]);
  }

  /**
   * Builds and tests `tag`. Throws ValidationError (before anything is written) for a tag that is
   * unsafe or does not match the pattern, and ConflictError while the tag is already being built;
   * otherwise resolves with the final record, whatever the scripts did.
   */
  async run(tag: string, signal: AbortSignal): Promise<ReleaseRecord> {
    assertReleaseTag(tag, this.#pattern);
    signal.throwIfAborted();
    await this.#cleared();
    if (this.#running.has(tag)) throw new ConflictError(`${tag} is already being built`);
    this.#running.add(tag);
    try {
      return await this.#run(tag, signal);
    } finally {
      this.#running.delete(tag);
    }
  }

  async #run(tag: string, signal: AbortSignal): Promise<ReleaseRecord> {
    const paths = this.#paths(tag);
    const record = await this.#reset(tag, paths);
    try {
      const version = await this.#source(record, paths, signal);
      await this.#build(tag, version, paths, signal);
      await this.#test(tag, version, paths, signal);
      return await this.#store.updateRelease(tag, { status: 'succeeded', error: null, interruptions: 0 });
    } catch (err) {
      return await this.#conclude(tag, err, signal);
    }
  }

  #paths(tag: string): ReleasePaths {
    return releasePaths(this.#settings.root, tag, this.marksDir);
  }

  /**
   * A run starts from cleared results and no logs of an earlier run; an earlier artifact stays until a new
   * one replaces it.
   */
  async #reset(tag: string, paths: ReleasePaths): Promise<ReleaseRecord> {
    const record = await startRecord(this.#store, tag);
    await rm(paths.logs, { recursive: true, force: true });
    return record;
  }

  /** Checks out the release's commit and checks that it is a release candidate; resolves with its version. */
  async #source(record: ReleaseRecord, paths: ReleasePaths, signal: AbortSignal): Promise<string> {
    const { tag } = record;
    const source = await prepareSource(this.mirror, this.#settings.repo, record, paths.checkout, signal);
    const expected = tag.slice(1);
    const matches = source.version === expected;
    await this.#store.updateRelease(tag, {
      sha: source.sha,
      author: source.author,
      taggedAt: source.taggedAt,
      version: matches ? expected : null,
    });
    if (!matches) throw new ReleaseStopped('rejected', versionMismatch(tag, source.version));
    checkpoint(signal);
    return expected;
  }

  /** BUILD writes into a temporary folder that replaces artifacts/<tag>/ only when it holds the executable. */
  async #build(tag: string, version: string, paths: ReleasePaths, signal: AbortSignal): Promise<void> {
    const output = await guardWrite(paths.artifactsRoot, async () => {
      await mkdir(paths.artifactsRoot, { recursive: true });
      return mkdtemp(path.join(paths.artifactsRoot, `${BUILD_TEMP_PREFIX}${tag}-`));
    });
    try {
      await this.#step('build', tag, paths, ['--output', output], signal);
      await requireExecutable(output, version, this.#settings.appBuild.script);
      await guardWrite(paths.artifacts, () => replaceDir(output, paths.artifacts));
    } finally {
      await rm(output, { recursive: true, force: true });
    }
    checkpoint(signal);
    await this.#store.updateRelease(tag, { status: 'testing', artifactPath: path.join(paths.artifacts, version) });
  }

  async #test(tag: string, version: string, paths: ReleasePaths, signal: AbortSignal): Promise<void> {
    await this.#step('test', tag, paths, ['--env-root', this.#settings.envRoot, '--app-version', version], signal);
    checkpoint(signal);
  }

  /** Runs BUILD or TEST and records it (pipeline/release-step.ts); throws ReleaseStopped unless it exited 0. */
  #step(kind: StepKind, tag: string, paths: ReleasePaths, args: string[], signal: AbortSignal): Promise<StepRun> {
    return runReleaseStep(this.#settings, this.#store, kind, tag, paths, args, signal);
  }

  async #conclude(tag: string, err: unknown, signal: AbortSignal): Promise<ReleaseRecord> {
    const stop =
      err instanceof ReleaseStopped
        ? err
        : new ReleaseStopped(signal.aborted ? 'interrupted' : 'failed', reasonOf(err, signal), { cause: err });
    // A script (or git) that failed on a full disk says only that it failed: the disk is named here.
    const full = stop.status === 'failed' && !(stop.cause instanceof WriteFailedError) ? await this.fullDisk() : null;
    // A conclusive end restarts the count of interruptions; an interrupted one is counted by the next daemon start.
    const patch: ReleasePatch = {
      status: stop.status,
      error: full === null ? stop.message : `${stop.message}; ${full}`,
    };
    if (stop.status !== 'interrupted') patch.interruptions = 0;
    return this.#store.updateRelease(tag, patch);
  }
}
