// The release record a run starts from: a tag built for the first time gets one; a tag built again
// has its results cleared and keeps its identity (SHA, author, time, origin), since a release is
// immutable and only its build is repeated.
import { DuplicateKeyError } from '../../common/errors.js';
import type { ReleaseRecord } from '../../common/types.js';
import type { ReleasePatch, Store } from '../../store/store.js';

/** What a new run clears; the tag's identity stays. */
const RESULTS: ReleasePatch = {
  status: 'building',
  error: null,
  version: null,
  build: null,
  test: null,
  artifactPath: null,
  smoke: null,
};

export type RecordStore = Pick<Store, 'getRelease' | 'createRelease' | 'updateRelease'>;

/** The record of `tag`, status building and no results: created, or an existing one reset. */
export async function startRecord(store: RecordStore, tag: string): Promise<ReleaseRecord> {
  if ((await store.getRelease(tag)) !== null) return store.updateRelease(tag, RESULTS);
  try {
    return await store.createRelease({
      tag,
      sha: null,
      version: null,
      author: null,
      status: 'building',
      error: null,
      build: null,
      test: null,
      artifactPath: null,
    });
  } catch (err) {
    // Another host sharing the store created it in between: reset it like any existing record.
    if (!(err instanceof DuplicateKeyError)) throw err;
    return store.updateRelease(tag, RESULTS);
  }
}
