// A tag becomes a path segment (<root>/repos/<tag>), a git argument and a store key, so it is checked
// against a strict charset before anything else touches it. The configured tag pattern alone is not
// enough: an operator may configure a loose one.
import { describeValue } from '../../common/describe.js';
import { ValidationError } from '../../common/errors.js';
import { isSafeTag, SAFE_TAG_RULE } from '../../common/git-names.js';

/**
 * Throws ValidationError unless `tag` is safe and matches `pattern` (a copy without g/y flags, so no
 * lastIndex state).
 */
export function assertReleaseTag(tag: unknown, pattern: RegExp): asserts tag is string {
  if (!isSafeTag(tag)) {
    throw new ValidationError('tag', `must be ${SAFE_TAG_RULE}, got ${describeValue(tag)}`);
  }
  if (!pattern.test(tag)) {
    throw new ValidationError('tag', `must match the tag pattern ${pattern.source}, got ${describeValue(tag)}`);
  }
}
