// Retention: keep the checkouts (<root>/repos/<tag>) and artifacts (<root>/artifacts/<tag>/) of the
// newest N releases, and always those a color needs: the tags of the latest desired revision, the
// tags the units really run, and the builds queued or running. Records stay; a removed artifact of a
// succeeded release is rebuilt by plan() if a desired state names the tag again. The logs of a release
// that is not kept (<root>/logs/<tag>/*.log) go too, each only once the archive holds exactly its
// bytes; without an archive, or until it has them, they stay.
import { readdir, rm, rmdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { NO_ARCHIVE, type ArchivedLogs } from '../common/archive.js';
import { isSafeTag } from '../common/git-names.js';
import { COLORS, type NewEvent } from '../common/types.js';
import type { Store } from '../store/store.js';
import type { UnitDriver } from '../units/driver.js';

export interface RetentionOptions {
  root: string;
  /** How many of the newest releases keep their checkout and artifact. */
  keep: number;
  store: Pick<Store, 'listReleases' | 'latestRevision'>;
  driver: Pick<UnitDriver, 'observe'>;
  /** Tags whose build is queued or running. */
  builds(): ReadonlySet<string>;
  /** Best effort (EventLog.record): never rejects. */
  event(event: NewEvent): Promise<void>;
  /** Says which logs the archive holds byte for byte. @default NO_ARCHIVE (none: logs stay) */
  archive?: Pick<ArchivedLogs, 'holds'>;
}

export interface PruneReport {
  removed: string[];
  kept: string[];
  /** Local logs removed because the archive holds them, as `<tag>/<step>.log`. */
  logsRemoved: string[];
}

/** Releases looked at to rank the ones on disk; a tag on disk without a record ranks oldest. */
const SCAN_LIMIT = 10_000;
const FOLDERS = ['repos', 'artifacts'] as const;

export class Retention {
  readonly #options: RetentionOptions;
  #running: Promise<PruneReport> | null = null;
  #again = false;
  #keep: number;

  constructor(options: RetentionOptions) {
    this.#options = options;
    this.#keep = checkKeep(options.keep);
  }

  /** `hyper-cli config set policy.keepReleases`: the next prune keeps this many. */
  setKeep(keep: number): void {
    this.#keep = checkKeep(keep);
  }

  /** Prunes now; a call during a prune runs one more afterwards (calls in between share it). */
  prune(): Promise<PruneReport> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = this.#pruneLoop().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async #pruneLoop(): Promise<PruneReport> {
    let report = await this.#pruneOnce();
    // At most one more round: a prune asked for while this one ran.
    if (this.#again) {
      this.#again = false;
      report = await this.#pruneOnce();
    }
    return report;
  }

  async #pruneOnce(): Promise<PruneReport> {
    const onDisk = await this.#tagsOnDisk();
    const needed = await this.#needed();
    const ranked = await this.#newestFirst(onDisk);
    const kept = new Set([...ranked.slice(0, this.#keep), ...ranked.filter((t) => needed.has(t))]);
    const removed: string[] = [];
    for (const tag of ranked) {
      // Checked again at the last moment: a build may have been queued since the list was made.
      if (kept.has(tag) || this.#options.builds().has(tag)) continue;
      for (const folder of FOLDERS)
        await rm(path.join(this.#options.root, folder, tag), { recursive: true, force: true });
      removed.push(tag);
    }
    if (removed.length > 0) {
      await this.#options.event({
        reason: 'ReleasesPruned',
        message:
          `removed the checkouts and artifacts of ${removed.join(', ')} (keeping the newest ` +
          `${this.#keep} and what a color needs)`,
        data: { removed, kept: [...kept] },
      });
    }
    // A tag a color needs keeps its logs even when it has no checkout or artifact on disk.
    const logsRemoved = await this.#pruneLogs(new Set([...kept, ...needed]));
    return { removed, kept: [...kept].sort(), logsRemoved };
  }

  /** Removes the archived logs of every tag in logs/ that is not kept, and the tag's folder once empty. */
  async #pruneLogs(kept: ReadonlySet<string>): Promise<string[]> {
    const archive = this.#options.archive ?? NO_ARCHIVE;
    const logs = path.join(this.#options.root, 'logs');
    const removed: string[] = [];
    const tags = await readdir(logs, { withFileTypes: true }).catch(() => []);
    for (const tag of tags.filter((e) => e.isDirectory() && isSafeTag(e.name)).map((e) => e.name)) {
      if (kept.has(tag) || this.#options.builds().has(tag)) continue;
      const files = await readdir(path.join(logs, tag)).catch(() => [] as string[]);
      for (const file of files.filter((f) => f.endsWith('.log'))) {
        const local = path.join(logs, tag, file);
        if (!(await archive.holds(tag, file.slice(0, -'.log'.length), local).catch(() => false))) continue;
        await unlink(local);
        removed.push(`${tag}/${file}`);
      }
      // Only an empty folder goes: a log the archive lacks keeps it.
      await rmdir(path.join(logs, tag)).catch(() => undefined);
    }
    if (removed.length > 0) {
      await this.#options.event({
        reason: 'ArchivedLogsPruned',
        message: `removed the local copies of ${removed.join(', ')}: the archive holds them byte for byte`,
        data: { removed },
      });
    }
    return removed;
  }

  /**
   * Tags with a folder in repos/ or artifacts/. Dot-folders are builds in progress; anything that is not a
   * safe tag is not ours to remove.
   */
  async #tagsOnDisk(): Promise<Set<string>> {
    const tags = new Set<string>();
    for (const folder of FOLDERS) {
      const names = await readdir(path.join(this.#options.root, folder)).catch(() => [] as string[]);
      for (const name of names) if (isSafeTag(name)) tags.add(name);
    }
    return tags;
  }

  async #needed(): Promise<Set<string>> {
    const needed = new Set<string>(this.#options.builds());
    const latest = await this.#options.store.latestRevision();
    for (const color of COLORS) {
      const desired = latest?.doc.colors[color].tag;
      if (desired) needed.add(desired);
      const running = (await this.#options.driver.observe(color)).installed?.tag;
      if (running) needed.add(running);
    }
    return needed;
  }

  async #newestFirst(onDisk: ReadonlySet<string>): Promise<string[]> {
    const order = (await this.#options.store.listReleases(SCAN_LIMIT)).map((r) => r.tag).filter((t) => onDisk.has(t));
    const recorded = new Set(order);
    const unknown = [...onDisk].filter((t) => !recorded.has(t)).sort();
    return [...order, ...unknown];
  }
}

function checkKeep(keep: number): number {
  if (!Number.isInteger(keep) || keep < 1) throw new RangeError(`keep must be a positive integer, got ${keep}`);
  return keep;
}
