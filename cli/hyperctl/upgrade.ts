// hyperctl upgrade [--to TAG]: builds a tag of the hypervisor's own repo beside the running build
// (fetch, install, test, build), points `current` at it, restarts the daemon's unit and waits until
// it is healthy. A new build that is not healthy in time is undone: `current` goes back to the
// previous build and the daemon is restarted on it. The colors keep serving from their own units
// throughout; only the daemon (proxy and API) is down while it restarts.
import { readdir, realpath, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { isBuildTag } from '../../common/git-names.js';
import { buildTag, DaemonBuildError, type BuildStep } from '../../host/daemon-build.js';
import { linkTarget, pointLink, tagOfBuild, type InstallRecord } from '../../host/install-layout.js';
import { acquireLock, LockedError } from '../../host/upgrade-lock.js';
import { listTags, newestTag, sourceOf } from '../../host/daemon-repo.js';
import type { DaemonService } from '../../host/daemon-unit.js';
import { CliError, emit, UsageError, type OutputOptions } from '../output.js';
import { readSince, readTail } from '../tail.js';
import { endpointOf, requireInstall, serviceOf, waitHealthy, type Host } from './host.js';

export interface UpgradeArgs {
  to?: string;
  repo?: string;
  installCommand: string | null;
  testCommand: string;
  buildCommand: string;
  /** How long the new daemon has to answer healthz. */
  timeoutMs: number;
  stepTimeoutMs: number;
  /** Builds kept besides the current and the previous one. */
  keep: number;
}

interface Ctx {
  host: Host;
  args: UpgradeArgs;
  record: InstallRecord;
  service: DaemonService;
  say: (line: string) => void;
}

export async function upgrade(host: Host, args: UpgradeArgs, options: OutputOptions): Promise<number> {
  const record = await requireInstall(host);
  // Progress goes to stderr under --json, so stdout stays one JSON document.
  const say = (line: string): void => void (options.json ? process.stderr : process.stdout).write(`${line}\n`);
  const ctx: Ctx = { host, args, record, service: serviceOf(record), say };
  const release = await acquireLock(host.layout.lockFile, 'hyperctl upgrade').catch((err: unknown) => {
    throw err instanceof LockedError ? new CliError(4, 'locked', err.message) : err;
  });
  try {
    const answer = await run(ctx);
    emit(options, answer, () =>
      answer.changed
        ? `upgraded to ${answer.tag}: the daemon runs ${answer.build} (pid ${answer.pid ?? '?'})`
        : `already on ${answer.tag}: nothing changed`,
    );
    return 0;
  } finally {
    await release();
  }
}

async function run(
  ctx: Ctx,
): Promise<{ changed: boolean; tag: string; build: string; previous: string | null; pid: number | null }> {
  const { layout } = ctx.host;
  const from = await linkTarget(layout.current);
  if (from === null)
    throw new CliError(1, 'not_installed', `${layout.current} does not exist: run hyperctl setup first`);
  const repo = ctx.args.repo ?? (await sourceOf(await realpath(from)));
  if (repo === null)
    throw new UsageError(`cannot tell which repo the running build (${from}) came from: give --repo PATH|URL`);
  const tag = ctx.args.to ?? newestTag(await listTags(repo));
  if (tag === null)
    throw new CliError(1, 'no_tags', `${repo} has no tags to upgrade to: tag a release there, or give --to TAG`);
  if (!isBuildTag(tag))
    throw new UsageError(`--to must be a tag name of letters, digits, ".", "_", "-", got ${JSON.stringify(tag)}`);
  if (tagOfBuild(layout, from) === tag)
    return {
      changed: false,
      tag,
      build: from,
      previous: await linkTarget(layout.previous),
      pid: (await ctx.service.state()).mainPid,
    };

  ctx.say(`upgrading from ${from} to ${tag} of ${repo}`);
  const build = await buildOrExplain(ctx, repo, tag, await realpath(from));
  const previousBefore = await linkTarget(layout.previous);
  await pointLink(layout.previous, from);
  await pointLink(layout.current, build);
  const logOffset = (await stat(layout.daemonLog).catch(() => null))?.size ?? 0;
  ctx.say(`swap: ${layout.current} -> ${build}; restarting ${ctx.record.unit}`);
  const healthy = await restartAndWait(ctx);
  if (!('failed' in healthy)) {
    ctx.say(`healthy after ${(healthy.afterMs / 1000).toFixed(1)} s (pid ${healthy.pid ?? '?'})`);
    await prune(ctx, [build, from]);
    return { changed: true, tag, build, previous: from, pid: healthy.pid };
  }
  return rollBack(ctx, { tag, build, from, previousBefore, reason: healthy.failed, logOffset });
}

async function buildOrExplain(ctx: Ctx, repo: string, tag: string, currentDir: string): Promise<string> {
  const { layout } = ctx.host;
  const logFile = path.join(layout.logs, `upgrade-${tag}.log`);
  const progress = (step: BuildStep, detail: string): void => ctx.say(`${step.padEnd(8)} ${detail}`);
  try {
    const { args } = ctx;
    const built = await untilInterrupted((signal) =>
      buildTag({
        repo,
        tag,
        buildsDir: layout.builds,
        currentDir,
        logFile,
        progress,
        installCommand: args.installCommand,
        testCommand: args.testCommand,
        buildCommand: args.buildCommand,
        stepTimeoutMs: args.stepTimeoutMs,
        signal,
      }),
    );
    return built.dir;
  } catch (err) {
    if (!(err instanceof DaemonBuildError)) throw err;
    const tail = (await readTail(logFile, 20))?.lines.join('\n') ?? '';
    throw new CliError(
      1,
      `${err.step}_failed`,
      `${err.message}\n${tail}\nnothing was changed: the daemon still runs ${await linkTarget(layout.current)}`,
    );
  }
}

/**
 * ^C or SIGTERM cancels the build: its steps run detached (out of reach of the terminal's signal),
 * so without this they would go on after hyperctl is gone.
 */
async function untilInterrupted<T>(run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => controller.abort(new Error(`hyperctl got ${signal}`));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await run(controller.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function restartAndWait(ctx: Ctx): Promise<Awaited<ReturnType<typeof waitHealthy>>> {
  const since = Date.now();
  // A refused restart counts as unhealthy: the caller then goes back to the previous build.
  const refused = await ctx.service.restart().then(
    () => null,
    (err: Error) => err.message,
  );
  if (refused !== null) return { failed: `systemctl refused the restart: ${refused}` };
  return waitHealthy(endpointOf(ctx.host.config), ctx.service, { deadlineMs: ctx.args.timeoutMs, since });
}

interface Failure {
  tag: string;
  build: string;
  from: string;
  previousBefore: string | null;
  reason: string;
  logOffset: number;
}

/** Back to the build that ran before; the failed one is removed so that a retry builds it afresh. */
async function rollBack(ctx: Ctx, failure: Failure): Promise<never> {
  const { layout } = ctx.host;
  const said = (await readSince(layout.daemonLog, failure.logOffset, 15)).join('\n') || '(nothing)';
  ctx.say(`${failure.tag} is not healthy: ${failure.reason}; going back to ${failure.from}`);
  await pointLink(layout.current, failure.from);
  if (failure.previousBefore) await pointLink(layout.previous, failure.previousBefore);
  else await rm(layout.previous, { force: true });
  const healthy = await restartAndWait(ctx);
  await rm(failure.build, { recursive: true, force: true });
  const head =
    `the daemon of ${failure.tag} did not become healthy (${failure.reason}); its log ` +
    `(${layout.daemonLog}) ended with:\n${said}\n`;
  if ('failed' in healthy) {
    throw new CliError(
      1,
      'rollback_unhealthy',
      `${head}went back to ${failure.from}, but that is not healthy either: ${healthy.failed}; run ` +
        'hyperctl doctor and hyperctl logs',
    );
  }
  throw new CliError(
    1,
    'rolled_back',
    `${head}rolled back: the daemon runs ${failure.from} again and is healthy (pid ` +
      `${healthy.pid ?? '?'}); fix ${failure.tag} and upgrade again`,
  );
}

/** Keeps the newest `keep` builds and whatever current and previous point at; drops leftovers. */
async function prune(ctx: Ctx, inUse: string[]): Promise<void> {
  const { builds } = ctx.host.layout;
  const entries = await readdir(builds, { withFileTypes: true });
  const dated = await Promise.all(
    entries
      .filter((e) => e.isDirectory())
      .map(async (e) => ({
        dir: path.join(builds, e.name),
        name: e.name,
        mtime: (await stat(path.join(builds, e.name))).mtimeMs,
      })),
  );
  const keep = new Set([
    ...inUse,
    ...dated
      .filter((d) => !d.name.startsWith('.'))
      .sort((a, b) => b.mtime - a.mtime)
      .slice(0, ctx.args.keep)
      .map((d) => d.dir),
  ]);
  for (const d of dated) {
    if (keep.has(d.dir)) continue;
    await rm(d.dir, { recursive: true, force: true });
    ctx.say(`pruned ${d.dir}`);
  }
}
