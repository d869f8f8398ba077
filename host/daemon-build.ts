// One build of the hypervisor for `hyperctl upgrade`: clone the tag into a temporary folder beside
// the others, install its dependencies, run its tests, build it, and only then give it its name
// (`builds/<tag>`), with a marker that says it is complete. A folder under that name is always a
// whole build; a failed attempt leaves nothing but its log.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { HypervisorError } from '../common/errors.js';
import { LOG_FILE_MODE } from '../common/file-modes.js';
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
        `${JSON.stringify(options.buildCommand)} exited 0 but ${needed} is missing: is ${options.tag} a build of the hypervisor?`,
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

/** Runs argv in its own process group (a timeout kills the whole group), output appended to the log. */
async function runArgv(step: BuildStep, argv: string[], cwd: string, options: DaemonBuildOptions): Promise<void> {
  const log = await open(options.logFile, 'a', LOG_FILE_MODE);
  await log.write(`\n$ ${argv.join(' ')}    # ${step}, in ${cwd}\n`);
  try {
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd,
      detached: true,
      stdio: ['ignore', log.fd, log.fd],
      env: { ...process.env, CI: '1' },
    });
    const outcome = await new Promise<{ code: number | null; signal: string | null; timedOut: boolean }>((resolve) => {
      let timedOut = false;
      const killGroup = (signal: NodeJS.Signals): void => {
        try {
          process.kill(-child.pid!, signal);
        } catch {
          // already gone
        }
      };
      const timer = setTimeout(() => {
        timedOut = true;
        killGroup('SIGTERM');
        setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS).unref();
      }, options.stepTimeoutMs);
      child.once('error', (err) => {
        clearTimeout(timer);
        resolve({ code: null, signal: err.message, timedOut });
      });
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        // Whatever the step left running in its group (a test server, a watcher) ends with it.
        killGroup('SIGKILL');
        resolve({ code, signal, timedOut });
      });
    });
    if (outcome.code === 0 && !outcome.timedOut) return;
    const how = outcome.timedOut
      ? `did not finish within ${options.stepTimeoutMs} ms`
      : outcome.code === null
        ? `was stopped (${outcome.signal})`
        : `exited with ${outcome.code}`;
    throw new DaemonBuildError(
      step,
      `${step}: \`${argv.slice(argv[0] === '/bin/sh' ? 2 : 0).join(' ')}\` ${how} (log: ${options.logFile})`,
    );
  } finally {
    await log.close();
  }
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
