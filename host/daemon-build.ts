// One build of the hypervisor for `hyperctl upgrade`: clone the tag into a temporary folder beside
// the others, install its dependencies, run its tests, build it, and only then give it its name
// (`builds/<tag>`), with a marker that says it is complete. A folder under that name is always a
// whole build; a failed attempt leaves nothing but its log.
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { environSweep } from '../common/containment.js';
import { HypervisorError } from '../common/errors.js';
import { LOG_FILE_MODE } from '../common/file-modes.js';
import { supervise, type Supervised } from '../common/supervisor.js';
import { cloneTag } from './daemon-repo.js';

export const BUILD_MARKER = '.hypervisor-build.json';
const KILL_GRACE_MS = 5_000;

export type BuildStep = 'fetch' | 'install' | 'test' | 'build';

/** A step did not succeed; the message names the command and the log. */
export class DaemonBuildError extends HypervisorError {
  readonly step: BuildStep;
  constructor(step: BuildStep, message: string) {
    super('build_failed', message);
    this.step = step;
  }
}

export interface DaemonBuildOptions {
  repo: string;
  tag: string;
  buildsDir: string;
  /** The running build: its node_modules are reused when the lockfiles match and no install command is given. */
  currentDir: string;
  /** null: reuse the running build's node_modules when package-lock.json is the same, else `npm ci`. */
  installCommand: string | null;
  testCommand: string;
  buildCommand: string;
  stepTimeoutMs: number;
  /** Cancels the build: the running step and all it started are stopped, and nothing is named. */
  signal: AbortSignal;
  /** Every command's output goes here. */
  logFile: string;
  progress: (step: BuildStep, detail: string) => void;
}

export interface BuildMarker {
  tag: string;
  sha: string;
  repo: string;
  builtAt: string;
}

/** The complete build of `tag`, built now or found from an earlier upgrade. */
export async function buildTag(
  options: DaemonBuildOptions,
): Promise<{ dir: string; marker: BuildMarker; reused: boolean }> {
  const dir = path.join(options.buildsDir, options.tag);
  const earlier = await readMarker(dir);
  if (earlier) {
    options.progress(
      'fetch',
      `${options.tag} was built before (${earlier.sha.slice(0, 12)}, ${earlier.builtAt}): reusing ${dir}`,
    );
    return { dir, marker: earlier, reused: true };
  }
  await rm(dir, { recursive: true, force: true }); // an incomplete leftover
  const temp = path.join(options.buildsDir, `.tmp-${options.tag}-${randomBytes(4).toString('hex')}`);
  await writeFile(options.logFile, '');
  try {
    const marker = await buildInto(temp, options);
    await rename(temp, dir);
    return { dir, marker, reused: false };
  } catch (err) {
    await rm(temp, { recursive: true, force: true });
    throw err;
  }
}

async function buildInto(temp: string, options: DaemonBuildOptions): Promise<BuildMarker> {
  const sha = await cloneTag(options.repo, options.tag, temp).catch((err: Error) => {
    throw new DaemonBuildError('fetch', `cannot fetch ${options.tag} from ${options.repo}: ${err.message}`);
  });
  options.progress('fetch', `${options.tag} is ${sha.slice(0, 12)} in ${options.repo}`);
  await install(temp, options);
  await runStep('test', options.testCommand, temp, options);
  await runStep('build', options.buildCommand, temp, options);
  for (const needed of ['bin/hypervisor.js', 'dist/daemon/main.js']) {
    if (!existsSync(path.join(temp, needed))) {
      throw new DaemonBuildError(
        'build',
        `${JSON.stringify(options.buildCommand)} exited 0 but ${needed} is missing: is ` +
          `${options.tag} a build of the hypervisor?`,
      );
    }
  }
  const marker: BuildMarker = { tag: options.tag, sha, repo: options.repo, builtAt: new Date().toISOString() };
  await writeFile(path.join(temp, BUILD_MARKER), `${JSON.stringify(marker, null, 2)}\n`);
  return marker;
}

/** `npm ci` takes minutes (native modules); an unchanged lockfile means the same tree, so hard-link it. */
async function install(dir: string, options: DaemonBuildOptions): Promise<void> {
  if (options.installCommand !== null) return runStep('install', options.installCommand, dir, options);
  const [next, running] = await Promise.all([lockOf(dir), lockOf(options.currentDir)]);
  const modules = path.join(options.currentDir, 'node_modules');
  if (next !== null && next === running && existsSync(modules)) {
    await runArgv('install', ['cp', '-al', modules, path.join(dir, 'node_modules')], dir, options);
    options.progress('install', `same package-lock.json as the running build: linked its node_modules`);
    return;
  }
  return runStep('install', 'npm ci', dir, options);
}

async function lockOf(dir: string): Promise<string | null> {
  return readFile(path.join(dir, 'package-lock.json'), 'utf8').catch(() => null);
}

async function runStep(step: BuildStep, command: string, cwd: string, options: DaemonBuildOptions): Promise<void> {
  const started = Date.now();
  await runArgv(step, ['/bin/sh', '-c', command], cwd, options);
  options.progress(step, `${command} passed (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

/** Runs argv under the one supervisor (a timeout stops it and all it started), output appended to the log. */
async function runArgv(step: BuildStep, argv: string[], cwd: string, options: DaemonBuildOptions): Promise<void> {
  const log = createWriteStream(options.logFile, { flags: 'a', mode: LOG_FILE_MODE });
  let logError: Error | null = null;
  log.on('error', (err) => (logError ??= err));
  log.write(`\n$ ${argv.join(' ')}    # ${step}, in ${cwd}\n`);
  const outcome = await supervise({
    argv,
    cwd,
    env: { ...inheritedEnv(), CI: '1' },
    timeoutMs: options.stepTimeoutMs,
    killGraceMs: KILL_GRACE_MS,
    signal: options.signal,
    containment: environSweep,
    label: `hyperctl upgrade: ${step} in ${cwd}`,
    output: (chunk) => log.write(chunk),
    note: (text) => log.write(`[hyperctl] ${text}\n`),
  });
  await new Promise<void>((resolve) => log.end(resolve));
  if (logError !== null) {
    throw new DaemonBuildError(step, `cannot write ${options.logFile}: ${(logError as Error).message}`);
  }
  if (outcome.exitCode === 0 && !outcome.timedOut && !outcome.aborted) return;
  throw new DaemonBuildError(
    step,
    `${step}: \`${argv.slice(argv[0] === '/bin/sh' ? 2 : 0).join(' ')}\` ` +
      `${failure(outcome, options.stepTimeoutMs)} (log: ${options.logFile})`,
  );
}

function failure(outcome: Supervised, timeoutMs: number): string {
  if (outcome.startError !== null) return `could not start (${outcome.startError})`;
  if (outcome.timedOut) return `did not finish within ${timeoutMs} ms`;
  if (outcome.aborted) return 'was cancelled';
  if (outcome.exitCode === null) return `was stopped (${outcome.signal})`;
  return `exited with ${outcome.exitCode}`;
}

/** The operator's environment (npm and the tests need it), without unset entries. */
function inheritedEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

export async function readMarker(dir: string): Promise<BuildMarker | null> {
  const text = await readFile(path.join(dir, BUILD_MARKER), 'utf8').catch(() => null);
  if (text === null) return null;
  try {
    return JSON.parse(text) as BuildMarker;
  } catch {
    return null;
  }
}
