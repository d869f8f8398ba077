// The one way the hypervisor runs git (the pipeline's mirror, the config repo, hyperctl upgrade's
// own repo): every call under a deadline and the caller's AbortSignal, with a clean environment
// (none of the daemon's GIT_* or secrets, no credential prompt that nobody would answer), optionally
// carrying a containment mark so that git a killed daemon left behind is found at its restart, and
// every failure one GitError with the command and the end of git's stderr.
//
// Two runners behind one interface. simple-git is the default. It waits 50 ms after every command
// that prints nothing (its completion detection), and most of a release's git calls print nothing:
// the pipeline's hot path (fetch, resolve, pin, clone, checkout) runs on plain execFile instead.
import { startDeadline } from './deadline.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { simpleGit } from 'simple-git';
import { STEP_MARK_VAR } from './containment.js';
import { GitError } from './errors.js';

const execFileAsync = promisify(execFile);
/** Far above anything read from git here (refs, SHAs, names, a log line). */
const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;
/** How much of git's stderr a GitError keeps: its last words say what went wrong. */
const STDERR_TAIL_CHARS = 2_000;

export interface GitRunnerOptions {
  /** Deadline of each call, in ms. */
  timeoutMs: number;
  /**
   * A containment mark (common/containment.ts) that every git process of this runner carries in its
   * environment as STEP_MARK_VAR, children included: what a killed daemon left is found by it.
   */
  mark?: string;
}

export interface GitCall {
  /** The folder git runs in; it must exist. */
  cwd: string;
  /** Cancels the call: git is killed and the call rejects. */
  signal?: AbortSignal;
  /** How an error names the call, e.g. `git fetch <repo>`. @default `git <args>` */
  what?: string;
  /**
   * Exit codes that answer "no" rather than fail, when git printed nothing on stderr: `rev-parse
   * --verify --quiet` says "no such object" so. The call then resolves with what git printed.
   */
  quietCodes?: readonly number[];
}

export interface GitRunner {
  /** Runs `git <args>`; resolves with its stdout, rejects with GitError. */
  run(args: readonly string[], call: GitCall): Promise<string>;
}

/** The default runner, on simple-git. */
export function simpleGitRunner(options: GitRunnerOptions): GitRunner {
  const env = gitEnv(options.mark);
  return {
    run: async (args, call) => {
      const limits = limitsOf(call, options.timeoutMs);
      let stderr = '';
      try {
        const git = simpleGit({
          baseDir: call.cwd,
          abort: limits.signal,
          // Any exit but 0 (or a quiet "no") is a failure; simple-git lets one without stderr pass.
          errors: (error, result) => {
            stderr = Buffer.concat(result.stdErr).toString('utf8');
            if (result.exitCode === 0 || answersNo(call, result.exitCode, stderr)) return undefined;
            return error ?? new Error(`exited with ${result.exitCode}`);
          },
        });
        return await git.env(env).raw([...args]);
      } catch (err) {
        throw gitFailure(args, call, limits, { stderr, detail: (err as Error).message, cause: err });
      } finally {
        limits.dispose();
      }
    },
  };
}

/** The runner for the pipeline's hot path: plain execFile (measured: see the header). */
export function spawnGitRunner(options: GitRunnerOptions): GitRunner {
  const env = gitEnv(options.mark);
  return {
    run: async (args, call) => {
      const limits = limitsOf(call, options.timeoutMs);
      try {
        const spawnOptions = { cwd: call.cwd, env, signal: limits.signal, maxBuffer: MAX_OUTPUT_BYTES };
        return (await execFileAsync('git', [...args], { ...spawnOptions, encoding: 'utf8' })).stdout;
      } catch (err) {
        const failed = err as { code?: unknown; stdout?: string; stderr?: string; message: string };
        const stderr = failed.stderr ?? '';
        if (answersNo(call, failed.code, stderr)) return failed.stdout ?? '';
        throw gitFailure(args, call, limits, { stderr, detail: failed.message, cause: err });
      } finally {
        limits.dispose();
      }
    },
  };
}

/**
 * What git sees of the environment: PATH, HOME (its config, ssh keys), LANG, an ssh agent, and no
 * terminal prompt for credentials. The daemon's own GIT_* (a GIT_DIR of whoever started it) and
 * secrets stay out.
 */
export function gitEnv(mark?: string): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH || '/usr/local/bin:/usr/bin:/bin',
    GIT_TERMINAL_PROMPT: '0',
  };
  for (const key of ['HOME', 'LANG', 'SSH_AUTH_SOCK'] as const) {
    const value = process.env[key];
    if (value) env[key] = value;
  }
  if (mark !== undefined) env[STEP_MARK_VAR] = mark;
  return env;
}

interface Limits {
  timeoutMs: number;
  /** The caller's signal or the deadline, whichever comes first: what kills git. */
  signal: AbortSignal;
  dispose(): void;
}

function limitsOf(call: GitCall, timeoutMs: number): Limits {
  return { timeoutMs, ...startDeadline(timeoutMs, call.signal) };
}

function answersNo(call: GitCall, exitCode: unknown, stderr: string): boolean {
  return typeof exitCode === 'number' && (call.quietCodes ?? []).includes(exitCode) && stderr.trim() === '';
}

interface Ended {
  stderr: string;
  /** The runner's own words, when git said nothing (it could not be started, say). */
  detail: string;
  cause: unknown;
}

function gitFailure(args: readonly string[], call: GitCall, limits: Limits, ended: Ended): GitError {
  const what = call.what ?? `git ${args.join(' ')}`;
  const stderr = tail(ended.stderr.trim());
  const options = { cause: ended.cause, command: ['git', ...args], stderr };
  if (call.signal?.aborted) return new GitError(`${what}: cancelled`, options);
  if (limits.signal.aborted) return new GitError(`${what}: no answer within ${limits.timeoutMs} ms`, options);
  return new GitError(`${what}: ${stderr || ended.detail.trim()}`, options);
}

function tail(text: string): string {
  return text.length <= STDERR_TAIL_CHARS ? text : `...${text.slice(-STDERR_TAIL_CHARS)}`;
}
