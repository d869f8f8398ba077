// The config repo as a desired-state source (`desired.git`): the hypervisor keeps a clone, pulls
// on an interval (and when told to, e.g. by a push webhook), and turns a commit whose document
// differs into a revision with source `git@<sha>` and the commit's author. Edits made through the
// API are committed (author: the hyperuser) and pushed before they are stored, so the repo's
// history is the desired-state history; a concurrent upstream change is taken in first and the
// edit redone on top of it. Pulls and write-throughs run one at a time, and a write-through stores
// its revision before the next starts, so a write refused for a stale base never leaves a commit.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import PQueue from 'p-queue';
import { readCappedText } from '../common/capped-read.js';
import { ConflictError, ValidationError, WouldStopTrafficError } from '../common/errors.js';
import { simpleGitRunner, type GitRunner } from '../common/git.js';
import { FILE_CAPS, FileTooLargeError } from '../common/limits.js';
import type { Revision } from '../common/types.js';
import { guardWrite } from '../common/write-failure.js';
import { sameDesired, type DesiredInput } from './document.js';
import { staleRevision, type DesiredStateService, type PendingRevision } from './revisions.js';
import { formatDesiredYaml, parseDesiredInput } from './yaml.js';

export interface GitSourceOptions {
  url: string;
  branch: string;
  /** The document's path inside the repo. */
  path: string;
  /** How often to pull. */
  intervalMs: number;
  /** Where the hypervisor keeps its clone. */
  workdir: string;
  service: DesiredStateService;
  /** Told why a commit was refused (kept as `lastError` too) or why a pull failed. */
  onError?: (err: Error, context: { sha: string | null }) => void;
  /** Told about each commit read without error. */
  onRead?: (read: { sha: string; changed: boolean; revision: number }) => void;
  /** Deadline of one git command. @default 60000 */
  gitTimeoutMs?: number;
}

export interface GitSourceError {
  sha: string | null;
  message: string;
  time: string;
}

const SOURCE_PREFIX = 'git@';

export class DesiredGitSource {
  readonly #options: GitSourceOptions;
  readonly #queue = new PQueue({ concurrency: 1 });
  #git: GitRunner;
  #timer: NodeJS.Timeout | null = null;
  #lastSha: string | null = null;
  #lastError: GitSourceError | null = null;
  #closed = false;

  constructor(options: GitSourceOptions) {
    if (!Number.isInteger(options.intervalMs) || options.intervalMs < 100) {
      throw new ValidationError('desired.git.interval', `must be at least 100ms, got ${options.intervalMs}`);
    }
    if (path.isAbsolute(options.path) || options.path.split('/').includes('..')) {
      throw new ValidationError(
        'desired.git.path',
        `must be a relative path inside the repo, got ${JSON.stringify(options.path)}`,
      );
    }
    this.#options = options;
    this.#git = simpleGitRunner({ timeoutMs: options.gitTimeoutMs ?? 60_000 });
  }

  get lastError(): GitSourceError | null {
    return this.#lastError;
  }

  get lastSha(): string | null {
    return this.#lastSha;
  }

  /** Clones (once), reads the current commit, then pulls on the interval and writes edits back. */
  async start(): Promise<void> {
    await this.#clone();
    this.#options.service.setWriteThrough((change, store) =>
      this.#queue.add(() => this.#commitAndPush(change, store), { throwOnTimeout: true }),
    );
    await this.pull();
    this.#timer = setInterval(() => void this.pull(), this.#options.intervalMs);
    this.#timer.unref();
  }

  /** Fetches and applies the branch's newest commit now (a push webhook calls this). Never throws. */
  async pull(): Promise<void> {
    if (this.#closed) return;
    await this.#queue.add(async () => {
      try {
        await this.#pullOnce();
      } catch (err) {
        this.#fail(err as Error, this.#lastSha);
      }
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#options.service.setWriteThrough(null);
    await this.#queue.onIdle();
  }

  async #clone(): Promise<void> {
    const { workdir, url, branch } = this.#options;
    if (!existsSync(path.join(workdir, '.git'))) {
      await guardWrite(path.dirname(workdir), () => mkdir(path.dirname(workdir), { recursive: true }));
      const clone = ['clone', '--branch', branch, '--single-branch', '--', url, workdir];
      await this.#git.run(clone, { cwd: path.dirname(workdir) });
    }
    await this.#run(['config', '--local', 'user.name', 'openhack-hypervisor']);
    await this.#run(['config', '--local', 'user.email', 'hypervisor@localhost']);
  }

  /** Runs git in the clone. */
  #run(args: string[]): Promise<string> {
    return this.#git.run(args, { cwd: this.#options.workdir });
  }

  /** Makes the clone exactly the remote branch's head; returns that commit. */
  async #sync(): Promise<string> {
    const { branch } = this.#options;
    await this.#run(['fetch', 'origin', branch]);
    await this.#run(['reset', '--hard', `origin/${branch}`]);
    return (await this.#run(['rev-parse', 'HEAD'])).trim();
  }

  async #pullOnce(): Promise<void> {
    const sha = await this.#sync();
    if (sha === this.#lastSha) return;
    try {
      const result = await this.#applyCommit(sha, await this.#readDoc(sha));
      this.#lastSha = sha;
      this.#lastError = null;
      this.#options.onRead?.({ sha, changed: result.changed, revision: result.revision.number });
    } catch (err) {
      // A refused document stays refused until the next commit; anything else (the store) is retried.
      if (refusesDocument(err)) this.#lastSha = sha;
      this.#fail(err as Error, sha);
    }
  }

  async #applyCommit(sha: string, input: DesiredInput): Promise<{ changed: boolean; revision: Revision }> {
    return this.#options.service.apply(input.doc, {
      source: `${SOURCE_PREFIX}${sha}`,
      author: await this.#authorOf(sha),
      allowOutage: input.allowOutage,
    });
  }

  async #readDoc(sha: string): Promise<DesiredInput> {
    const file = path.join(this.#options.workdir, this.#options.path);
    let text: string;
    try {
      text = await readCappedText(file, FILE_CAPS.desired, `desired document (commit ${sha.slice(0, 12)})`);
    } catch (err) {
      // Too large is a fact about this commit, like a syntax error: it stays until the next commit.
      if (err instanceof FileTooLargeError) throw new ValidationError('desired.git.path', err.message);
      throw new ValidationError(
        'desired.git.path',
        `${this.#options.path} does not exist in commit ${sha.slice(0, 12)}`,
      );
    }
    return parseDesiredInput(text, this.#options.service.tagPattern);
  }

  async #authorOf(sha: string): Promise<string> {
    return (await this.#run(['log', '-1', '--format=%an <%ae>', sha])).trim();
  }

  /**
   * The write-through, in the queue: take in what changed upstream, check that the edit's base is
   * still the latest revision, commit and push, then store the revision. Nothing else of this
   * process writes between the check and the store (every write but a pull's comes through here,
   * and pulls wait in the same queue), so the store cannot refuse the revision for a stale base
   * after its commit is pushed.
   */
  async #commitAndPush(change: PendingRevision, store: () => Promise<Revision>): Promise<Revision> {
    const sha = await this.#sync();
    await this.#catchUp(sha, change.previous);
    const base = change.previous?.number ?? 0;
    const latest = (await this.#options.service.current())?.number ?? 0;
    if (latest !== base) throw staleRevision(base, latest);
    await this.#commit(change);
    await this.#push();
    return store();
  }

  /**
   * When the remote holds a change the store has not seen yet, that change is stored first and the
   * edit is refused with a conflict, so update() redoes it on top (a rebase of the edit, in effect).
   * An upstream commit that is itself refused (invalid, an unconfirmed outage) is reported like a
   * pull's, and the edit goes on top of it.
   */
  async #catchUp(sha: string, previous: Revision | null): Promise<void> {
    if (sha === this.#lastSha) return;
    const upstream = await this.#readDoc(sha).catch(() => null);
    let stored: { changed: boolean; revision: Revision } | null = null;
    try {
      if (upstream && !(previous && sameDesired(upstream.doc, previous.doc))) {
        stored = await this.#applyCommit(sha, upstream);
      }
    } catch (err) {
      // The store failing is not the commit's fault: the next pull takes it in again.
      if (!refusesDocument(err)) throw err;
      this.#fail(err as Error, sha);
    }
    this.#lastSha = sha;
    if (stored?.changed) throw staleRevision(previous?.number ?? 0, stored.revision.number);
  }

  async #commit(change: PendingRevision): Promise<void> {
    const file = path.join(this.#options.workdir, this.#options.path);
    await guardWrite(file, async () => {
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, formatDesiredYaml(change.doc));
    });
    await this.#run(['add', '--', this.#options.path]);
    const name = change.author.replace(/[<>\n]/g, '');
    const author = `${name} <${change.author.replace(/[^A-Za-z0-9._-]/g, '_')}@hypervisor>`;
    await this.#run(['commit', '-m', `desired state: ${change.source} edit by ${change.author}`, `--author=${author}`]);
  }

  async #push(): Promise<void> {
    try {
      await this.#run(['push', 'origin', `HEAD:${this.#options.branch}`]);
    } catch (err) {
      await this.#run(['reset', '--hard', `origin/${this.#options.branch}`]);
      throw new ConflictError(
        `pushing the edit to ${this.#options.url} failed (${(err as Error).message.split('\n')[0]}); retry`,
      );
    }
    this.#lastSha = (await this.#run(['rev-parse', 'HEAD'])).trim();
  }

  #fail(err: Error, sha: string | null): void {
    this.#lastError = { sha, message: err.message, time: new Date().toISOString() };
    this.#options.onError?.(err, { sha });
  }
}

/** A commit whose document is refused (invalid, an unconfirmed outage) stays refused: it is not retried. */
function refusesDocument(err: unknown): boolean {
  return err instanceof ValidationError || err instanceof WouldStopTrafficError;
}
