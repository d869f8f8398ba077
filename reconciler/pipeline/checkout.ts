// Git as the pipeline runs it: every call under a deadline and the caller's AbortSignal, with an
// environment that cannot prompt. `--` separates options from repos and paths; a tag (already
// checked by isSafeTag) only travels inside a full ref name (`refs/tags/<tag>`) and a SHA only as
// 40 hex digits, so neither can read as an option.
import { execFile } from 'node:child_process';
import { lstat, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { GitError } from '../../common/errors.js';

const execFileAsync = promisify(execFile);
/** Far above anything the pipeline reads from git (refs, SHAs, names). */
const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

export interface GitRunOptions {
  timeoutMs: number;
  signal: AbortSignal;
}

/** Git sees only what it needs: no prompt for credentials that nobody would answer. */
function gitEnv(): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH || '/usr/local/bin:/usr/bin:/bin',
    GIT_TERMINAL_PROMPT: '0',
  };
  for (const key of ['HOME', 'LANG', 'SSH_AUTH_SOCK'] as const) {
    const value = process.env[key];
    if (value) env[key] = value;
  }
  return env;
}

/**
 * Runs `git <args>` in `cwd` under its own deadline and the caller's signal (either kills git);
 * resolves with stdout. A failure becomes a GitError named by `what`, unless git exited with one of
 * `quietCodes` and printed nothing on stderr: `rev-parse --verify --quiet` says "no such object" so.
 * Plain execFile, not simple-git: simple-git waits 50 ms after every command that prints nothing,
 * and most of a release's git calls print nothing.
 */
export async function runGit(
  cwd: string,
  args: string[],
  what: string,
  options: GitRunOptions,
  quietCodes: readonly number[] = [],
): Promise<string> {
  const deadline = AbortSignal.timeout(options.timeoutMs);
  const signal = AbortSignal.any([options.signal, deadline]);
  try {
    const { stdout } = await execFileAsync('git', args, {
      cwd,
      env: gitEnv(),
      signal,
      maxBuffer: MAX_OUTPUT_BYTES,
      encoding: 'utf8',
    });
    return stdout;
  } catch (err) {
    const failure = err as { code?: unknown; stdout?: string; stderr?: string; message: string };
    if (options.signal.aborted) throw new GitError(`${what}: cancelled`, { cause: err });
    if (deadline.aborted) throw new GitError(`${what}: no answer within ${options.timeoutMs} ms`, { cause: err });
    const stderr = failure.stderr?.trim() ?? '';
    if (typeof failure.code === 'number' && quietCodes.includes(failure.code) && stderr === '')
      return failure.stdout ?? '';
    throw new GitError(`${what}: ${stderr || failure.message.trim()}`, { cause: err });
  }
}

/**
 * VERSION of a checkout as a regular file of at most 1 KiB, trimmed; null otherwise. A symlink is
 * not followed: its target would be a file of this host, and the value ends up in an error message
 * shown by the API.
 */
export async function readVersion(dir: string): Promise<string | null> {
  const file = path.join(dir, 'VERSION');
  const info = await lstat(file).catch(() => null);
  if (!info?.isFile() || info.size > 1024) return null;
  return (await readFile(file, 'utf8')).trim();
}
