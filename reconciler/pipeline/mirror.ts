// The bare mirror of the backend repo at <root>/mirror.git: fetched once per change (a webhook
// delivery, or a tag it does not hold yet), then every release is checked out from it locally at
// its recorded SHA. Cloning from a local bare repo hardlinks objects, so a checkout costs
// milliseconds instead of a network round trip, and the SHA is verified against real objects.
// `--` separates options from repos and paths; a tag (checked by isSafeTag) only travels inside a
// full ref name (`refs/tags/<tag>`) and a SHA only as 40 hex digits, so neither can read as an option.
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { describeValue } from '../../common/describe.js';
import { GitError, ValidationError } from '../../common/errors.js';
import { FULL_SHA, isSafeTag } from '../../common/git-names.js';
import { spawnGitRunner, type GitRunner } from '../../common/git.js';
import { guardWrite } from '../../common/write-failure.js';

export interface TagInfo {
  /** The commit the tag points to (peeled through annotated tags). */
  commit: string;
  /** The tagger of an annotated tag, else the commit's author: `Name <email>`. */
  author: string;
  /** The tagger's date, else the committer's; ISO-8601. */
  taggedAt: string | null;
}

export interface RepoMirrorOptions {
  /** The backend repository: a git URL or a local path. */
  repo: string;
  /** Absolute path of the bare mirror. */
  dir: string;
  /** Deadline of each git call. */
  timeoutMs: number;
  /** The containment mark every git process of the mirror carries (see orphans.ts). */
  mark: string;
}

// NUL-separated so no name or e-mail can shift a field.
const TAG_FORMAT =
  '%(if)%(taggername)%(then)%(taggername) %(taggeremail)%(else)%(authorname) ' +
  '%(authoremail)%(end)%00%(creatordate:iso-strict)';

export class RepoMirror {
  readonly dir: string;
  readonly #repo: string;
  readonly #git: GitRunner;
  /** Changes noted so far, and how many of them the last finished fetch covered (-1: none yet). */
  #changes = 0;
  #fetched = -1;
  /** Fetches run one at a time: two git fetches into one repo fight over its ref locks. */
  #lock: Promise<unknown> = Promise.resolve();

  constructor(options: RepoMirrorOptions) {
    if (!path.isAbsolute(options.dir))
      throw new ValidationError('mirror.dir', `must be absolute, got ${JSON.stringify(options.dir)}`);
    this.dir = options.dir;
    this.#repo = options.repo;
    this.#git = spawnGitRunner({ timeoutMs: options.timeoutMs, mark: options.mark });
  }

  /** The repository changed (a webhook said so): the next refresh() fetches. */
  noteChange(): void {
    this.#changes++;
  }

  /** Fetches unless a fetch that started after the last noted change already finished; true when it fetched. */
  refresh(signal: AbortSignal): Promise<boolean> {
    return this.#fetchCovering(this.#changes, signal);
  }

  /** Fetches now (or waits for a fetch that started after this call). */
  fetch(signal: AbortSignal): Promise<boolean> {
    return this.#fetchCovering(++this.#changes, signal);
  }

  /** What the mirror's `refs/tags/<tag>` says, or null when it has no such tag. */
  async resolveTag(tag: string, signal: AbortSignal): Promise<TagInfo | null> {
    const ref = tagRef(tag);
    if (!existsSync(path.join(this.dir, 'HEAD'))) return null;
    const meta = await this.#git.run(['for-each-ref', `--format=${TAG_FORMAT}`, '--', ref], {
      cwd: this.dir,
      signal,
      what: `git for-each-ref ${ref}`,
    });
    if (meta.trim() === '') return null;
    const commit = await this.#verify(`${ref}^{commit}`, signal);
    if (commit === null) return null;
    const [author = '', date = ''] = meta.trim().split('\0');
    const time = Date.parse(date);
    return {
      commit,
      author: author.trim() || 'unknown',
      taggedAt: Number.isNaN(time) ? null : new Date(time).toISOString(),
    };
  }

  /** Every tag name the mirror holds (none before its first fetch). */
  async listTags(signal: AbortSignal): Promise<string[]> {
    if (!existsSync(path.join(this.dir, 'HEAD'))) return [];
    const out = await this.#git.run(['for-each-ref', '--format=%(refname:strip=2)', '--', 'refs/tags'], {
      cwd: this.dir,
      signal,
      what: 'git for-each-ref refs/tags',
    });
    return out.split('\n').filter((name) => name !== '');
  }

  /** Whether the mirror holds `sha` as a commit. */
  async hasCommit(sha: string, signal: AbortSignal): Promise<boolean> {
    if (!existsSync(path.join(this.dir, 'HEAD'))) return false;
    return (await this.#verify(`${checkSha(sha)}^{commit}`, signal)) === sha;
  }

  /** Keeps the release's commit reachable (refs/releases/<tag>) even after its tag moved or went. */
  async pin(tag: string, sha: string, signal: AbortSignal): Promise<void> {
    const ref = `refs/releases/${checkTag(tag)}`;
    await this.#git.run(['update-ref', ref, checkSha(sha)], { cwd: this.dir, signal, what: `git update-ref ${ref}` });
  }

  /** A fresh working tree of `sha` in `dir` (removed first), HEAD detached at exactly that commit. */
  async checkout(sha: string, dir: string, signal: AbortSignal): Promise<void> {
    checkSha(sha);
    await rm(dir, { recursive: true, force: true });
    await guardWrite(path.dirname(dir), () => mkdir(path.dirname(dir), { recursive: true }));
    await this.#git.run(['clone', '--quiet', '--no-checkout', '--', this.dir, dir], {
      cwd: path.dirname(dir),
      signal,
      what: `git clone ${this.dir}`,
    });
    await this.#git.run(['-c', 'advice.detachedHead=false', 'checkout', '--quiet', '--detach', sha], {
      cwd: dir,
      signal,
      what: `git checkout ${sha}`,
    });
    const head = (
      await this.#git.run(['rev-parse', '--verify', 'HEAD^{commit}'], { cwd: dir, signal, what: 'git rev-parse HEAD' })
    ).trim();
    if (head !== sha) throw new GitError(`checkout of ${sha} in ${dir} is at ${head || 'nothing'}`);
  }

  async #verify(spec: string, signal: AbortSignal): Promise<string | null> {
    const out = (
      await this.#git.run(['rev-parse', '--verify', '--quiet', spec], {
        cwd: this.dir,
        signal,
        what: `git rev-parse ${spec}`,
        quietCodes: [1],
      })
    ).trim();
    return FULL_SHA.test(out) ? out : null;
  }

  #fetchCovering(wanted: number, signal: AbortSignal): Promise<boolean> {
    const run = this.#lock.then(async () => {
      if (this.#fetched >= wanted) return false;
      const covers = this.#changes;
      await this.#fetchNow(signal);
      this.#fetched = covers;
      return true;
    });
    this.#lock = run.catch(() => undefined);
    return run;
  }

  async #fetchNow(signal: AbortSignal): Promise<void> {
    if (!existsSync(path.join(this.dir, 'HEAD'))) {
      await guardWrite(path.dirname(this.dir), () => mkdir(path.dirname(this.dir), { recursive: true }));
      const init = ['init', '--quiet', '--bare', '--', this.dir];
      await this.#git.run(init, { cwd: path.dirname(this.dir), signal, what: `git init ${this.dir}` });
    }
    // Tags only, forced: a moved tag shows up as moved (the intake refuses it), and branches are not releases.
    const args = ['fetch', '--quiet', '--force', '--no-write-fetch-head', '--', this.#repo, '+refs/tags/*:refs/tags/*'];
    await this.#git.run(args, { cwd: this.dir, signal, what: `git fetch ${this.#repo}` });
  }
}

function tagRef(tag: string): string {
  return `refs/tags/${checkTag(tag)}`;
}

function checkTag(tag: string): string {
  if (!isSafeTag(tag)) throw new ValidationError('tag', `not a safe tag: ${describeValue(tag)}`);
  return tag;
}

function checkSha(sha: string): string {
  if (!FULL_SHA.test(sha))
    throw new ValidationError('sha', `must be 40 lowercase hex digits, got ${describeValue(sha)}`);
  return sha;
}
