// Whether the backend repo has a tag, asked before anything is written for it (stage names only
// tags that exist). The mirror is fetched first; a failed fetch is an answer only when the mirror
// already has the tag. When the repo has not, the refusal names the newest tags that match the
// pattern, from the repo and the release records, so the operator sees what they may have meant.
import { HypervisorError } from '../common/errors.js';
import { newestTags } from '../desired-state/tags.js';
import type { Store } from '../store/store.js';
import type { RepoMirror } from './pipeline/mirror.js';

/** Whether a tag exists in the backend repo, and the newest ones that do (for a refusal). */
export interface TagLookup {
  inRepo: boolean;
  newest: string[];
}

/** The backend repo could not be fetched and the mirror does not have the tag: nobody can tell yet. */
export class RepoUnreachableError extends HypervisorError {
  constructor(tag: string, cause: unknown) {
    super(
      'repo_unreachable',
      `cannot tell whether ${tag} exists: fetching the backend repo failed ` +
        `(${(cause as Error).message}); try again once it is reachable`,
      { cause },
    );
  }
}

export interface TagLookupDeps {
  mirror: Pick<RepoMirror, 'fetch' | 'resolveTag' | 'listTags'>;
  store: Pick<Store, 'listReleases'>;
  /** The release tag pattern (stateless: no `g` or `y` flag). */
  pattern: RegExp;
}

/** How many existing tags a refusal of an unknown one names. */
const NEWEST_SHOWN = 5;

/** Throws RepoUnreachableError when the fetch failed and the mirror does not have the tag. */
export async function lookupTag(deps: TagLookupDeps, tag: string, signal: AbortSignal): Promise<TagLookup> {
  const fetched = await deps.mirror.fetch(signal).then(
    () => null,
    (err: unknown) => err,
  );
  if ((await deps.mirror.resolveTag(tag, signal)) !== null) return { inRepo: true, newest: [] };
  if (fetched !== null) throw new RepoUnreachableError(tag, fetched);
  const recorded = (await deps.store.listReleases(100)).map((r) => r.tag);
  const known = [...(await deps.mirror.listTags(signal)), ...recorded].filter((t) => deps.pattern.test(t));
  return { inRepo: false, newest: newestTags(known, NEWEST_SHOWN) };
}
