// One script of a release (BUILD or TEST), run in its checkout and recorded on the release, and the
// folders a release's run uses. Apart from the pipeline's order of stages (pipeline.ts) so each reads at once.
import path from 'node:path';
import { WriteFailedError } from '../../common/write-failure.js';
import type { Store } from '../../store/store.js';
import { requireScript } from './artifact.js';
import type { PipelineSettings } from './options.js';
import { describeOutcome, runStep, type StepRun } from './step.js';
import { ReleaseStopped } from './stopped.js';

export type StepKind = 'build' | 'test';

export interface ReleasePaths {
  checkout: string;
  artifactsRoot: string;
  artifacts: string;
  logs: string;
  /** Marks of running script groups (see pipeline/leftovers.ts). */
  marks: string;
}

/** The folders of `tag`'s run under `root`; `marks` is where running script groups are marked. */
export function releasePaths(root: string, tag: string, marks: string): ReleasePaths {
  return {
    checkout: path.join(root, 'repos', tag),
    artifactsRoot: path.join(root, 'artifacts'),
    artifacts: path.join(root, 'artifacts', tag),
    logs: path.join(root, 'logs', tag),
    marks,
  };
}

/** Runs `./<script> args` in the checkout and records its StepResult; throws ReleaseStopped unless it exited 0. */
export async function runReleaseStep(
  settings: PipelineSettings,
  store: Pick<Store, 'updateRelease'>,
  kind: StepKind,
  tag: string,
  paths: ReleasePaths,
  args: string[],
  signal: AbortSignal,
): Promise<StepRun> {
  const config = kind === 'build' ? settings.appBuild : settings.appTest;
  await requireScript(paths.checkout, config.script, tag);
  const logPath = path.join(paths.logs, `${kind}.log`);
  const run = await runStep({
    name: config.script,
    command: `./${config.script}`,
    args,
    cwd: paths.checkout,
    timeoutMs: config.timeoutMs,
    killGraceMs: settings.killGraceMs,
    logPath,
    logCapBytes: settings.logCapBytes,
    signal,
    containment: settings.containment,
    markFile: path.join(paths.marks, `${tag}.json`),
  }).catch((err: unknown) => {
    if (!(err instanceof WriteFailedError)) throw err;
    throw new ReleaseStopped('failed', `${config.script} did not run: its log cannot be written: ${err.message}`, {
      cause: err,
    });
  });
  // Whatever the outcome, the log is complete: a failed step's log is the one most worth keeping.
  settings.stepLogs.stepEnded(tag, kind, logPath);
  await store.updateRelease(tag, kind === 'build' ? { build: run.result } : { test: run.result });
  if (run.writeFailure !== null) {
    const message = `${config.script} was stopped: its log cannot be written: ${run.writeFailure.message}`;
    throw new ReleaseStopped('failed', message, { cause: run.writeFailure });
  }
  if (run.result.exitCode === 0 && !run.result.timedOut && !run.aborted) return run;
  const how = describeOutcome({ ...run.result, aborted: run.aborted, startError: run.startError }, config.timeoutMs);
  throw new ReleaseStopped(run.aborted ? 'interrupted' : 'failed', `${config.script} ${how} (log: ${logPath})`);
}
