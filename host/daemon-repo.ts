// The hypervisor's own repository, as `hyperctl upgrade` reads it: where the running build came
// from, which tags it has, and a checkout of one tag. Git through the one runner (common/git.ts): a
// deadline on every call and no prompts (an upgrade must fail, not hang, on a repo that asks for
// credentials).
import { mkdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { simpleGitRunner } from '../common/git.js';
import { isBuildTag } from '../common/git-names.js';

const runner = simpleGitRunner({ timeoutMs: 5 * 60_000 });

/** Runs `git <args>` in `cwd` (this process's folder by default); rejects with GitError. */
function git(args: string[], cwd = process.cwd()): Promise<string> {
  return runner.run(args, { cwd });
}

/** The repo a build was cloned from (its `origin`), or the build itself when it is a git work tree. */
export async function sourceOf(buildDir: string): Promise<string | null> {
  const origin = await git(['remote', 'get-url', 'origin'], buildDir).catch(() => null);
  if (origin?.trim()) return origin.trim();
  const top = await git(['rev-parse', '--show-toplevel'], buildDir).catch(() => null);
  if (top && (await realpath(top.trim())) === (await realpath(buildDir))) return buildDir;
  return null;
}

export async function listTags(repo: string): Promise<string[]> {
  const out = await git(['ls-remote', '--tags', '--refs', repo]);
  return out
    .split('\n')
    .map((line) => line.split('\trefs/tags/')[1]?.trim())
    .filter((t): t is string => Boolean(t));
}

/** The highest tag in version order (v0.10.0 after v0.9.3), among those usable as a build name. */
export function newestTag(tags: string[]): string | null {
  const usable = tags.filter(isBuildTag);
  usable.sort(compareVersions);
  return usable.at(-1) ?? null;
}

function compareVersions(a: string, b: string): number {
  const pa = a.split(/(\d+)/);
  const pb = b.split(/(\d+)/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const [x, y] = [pa[i] ?? '', pb[i] ?? ''];
    if (x === y) continue;
    const numeric = /^\d+$/.test(x) && /^\d+$/.test(y);
    return numeric ? Number(x) - Number(y) : x < y ? -1 : 1;
  }
  return 0;
}

/** Clones `repo` at `tag` (detached) into `dir`; resolves with the commit's SHA. */
export async function cloneTag(repo: string, tag: string, dir: string): Promise<string> {
  const clone = ['-c', 'advice.detachedHead=false', 'clone', '--quiet', '--branch', tag, '--', repo, dir];
  // git runs in the folder that will hold the clone; on a first upgrade it does not exist yet.
  await mkdir(path.dirname(dir), { recursive: true });
  await git(clone, path.dirname(dir));
  return (await git(['rev-parse', 'HEAD'], dir)).trim();
}
