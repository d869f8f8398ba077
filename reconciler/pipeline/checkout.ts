// Git work of a release: does the tag exist, clone the repo at the tag, and read what the tagged
// commit says (SHA, who released it, VERSION). Every call runs under a deadline and the caller's
// AbortSignal; `--` separates options from the repo and paths, and the tag (already checked by
// isSafeTag) only ever travels inside a full ref name (`refs/tags/<tag>`), which cannot read as an option.
import { lstat, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { HypervisorError } from '../../common/errors.js';

/** git failed, timed out or was cancelled; the message is git's own, for the operator. */
export class GitError extends HypervisorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('git_failed', message, options);
  }
}

export interface TaggedSource {
  /** The commit the tag points to (peeled). */
  sha: string;
  /** The tagger of an annotated tag, else the commit's author: `Name <email>`. */
  author: string;
  /** VERSION at the tag, trimmed; null when it is missing, not a regular file, or over 1 KiB. */
  version: string | null;
}

export interface GitRunOptions {
  timeoutMs: number;
  signal: AbortSignal;
}

/** Git sees only what it needs: no prompt for credentials that nobody would answer. */
function gitEnv(): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH || '/usr/local/bin:/usr/bin:/bin', GIT_TERMINAL_PROMPT: '0' };
  for (const key of ['HOME', 'LANG', 'SSH_AUTH_SOCK'] as const) {
    const value = process.env[key];
    if (value) env[key] = value;
  }
  return env;
}

function git(baseDir: string, abort: AbortSignal): SimpleGit {
  return simpleGit({ baseDir, abort }).env(gitEnv());
}

/** Runs one git call under its own deadline and the caller's signal; failures become a GitError. */
async function guarded<T>(what: string, options: GitRunOptions, work: (abort: AbortSignal) => Promise<T>): Promise<T> {
  const deadline = AbortSignal.timeout(options.timeoutMs);
  try {
    return await work(AbortSignal.any([options.signal, deadline]));
  } catch (err) {
    if (options.signal.aborted) throw new GitError(`${what}: cancelled`, { cause: err });
    if (deadline.aborted) throw new GitError(`${what}: no answer within ${options.timeoutMs} ms`, { cause: err });
    const message = (err as Error).message.trim() || String(err);
    throw new GitError(`${what}: ${message}`, { cause: err });
  }
}

/** Whether `repo` (URL or local path) has the tag; asks the remote without cloning. */
export async function remoteHasTag(repo: string, tag: string, cwd: string, options: GitRunOptions): Promise<boolean> {
  const ref = `refs/tags/${tag}`;
  const out = await guarded(`git ls-remote ${repo}`, options, (abort) => git(cwd, abort).raw(['ls-remote', '--tags', '--', repo, ref]));
  return out.split('\n').some((line) => {
    const name = line.split('\t')[1];
    return name === ref || name === `${ref}^{}`;
  });
}

/**
 * A fresh checkout of `repo` at `tag` in `dir` (removed first), HEAD detached at the tagged commit.
 * Not `git clone --branch <tag>`: a branch of the same name would win over the tag. The fetch names
 * the tag by its full ref, so only the tag can be checked out.
 */
export async function cloneAtTag(repo: string, tag: string, dir: string, options: GitRunOptions): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  const ref = `refs/tags/${tag}`;
  await guarded(`git init ${dir}`, options, (abort) => git(path.dirname(dir), abort).raw(['init', '--quiet', '--', dir]));
  const fetch = ['fetch', '--quiet', '--depth=1', '--no-tags', '--', repo, `+${ref}:${ref}`];
  await guarded(`git fetch ${repo} ${ref}`, options, (abort) => git(dir, abort).raw(fetch));
  await guarded(`git switch to ${tag}`, options, (abort) => git(dir, abort).raw(['switch', '--quiet', '--detach', ref]));
}

/** What the checkout of `tag` in `dir` says about itself. */
export async function readTaggedSource(dir: string, tag: string, options: GitRunOptions): Promise<TaggedSource> {
  const sha = await guarded('git rev-parse', options, (abort) => git(dir, abort).revparse(['--verify', 'HEAD^{commit}']));
  const format = '%(if)%(taggername)%(then)%(taggername) %(taggeremail)%(else)%(authorname) %(authoremail)%(end)';
  const author = await guarded('git for-each-ref', options, (abort) => git(dir, abort).raw(['for-each-ref', `--format=${format}`, '--', `refs/tags/${tag}`]));
  return { sha: sha.trim(), author: author.trim() || 'unknown', version: await readVersion(dir) };
}

/**
 * VERSION as a regular file of at most 1 KiB; null otherwise. A symlink is not followed: its target
 * would be a file of this host, and the value ends up in an error message shown by the API.
 */
async function readVersion(dir: string): Promise<string | null> {
  const file = path.join(dir, 'VERSION');
  const info = await lstat(file).catch(() => null);
  if (!info?.isFile() || info.size > 1024) return null;
  return (await readFile(file, 'utf8')).trim();
}
