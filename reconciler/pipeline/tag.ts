// A tag becomes a path segment (<root>/repos/<tag>), a git argument and a store key, so it is checked
// against a strict charset before anything else touches it. The configured tag pattern alone is not
// enough: an operator may configure a loose one.
import { ValidationError } from '../../common/errors.js';
import { isSafeTag, SAFE_TAG_RULE } from '../../common/git-names.js';

/** A short, escaped rendering of an untrusted value for an error message. */
function show(value: unknown): string {
  const text = JSON.stringify(typeof value === 'string' && value.length > 60 ? `${value.slice(0, 57)}...` : value);
  return text === undefined ? String(value) : text;
}

/**
 * Throws ValidationError unless `tag` is safe and matches `pattern` (a copy without g/y flags, so no
 * lastIndex state).
 */
export function assertReleaseTag(tag: unknown, pattern: RegExp): asserts tag is string {
  if (!isSafeTag(tag)) {
    throw new ValidationError('tag', `must be ${SAFE_TAG_RULE}, got ${show(tag)}`);
  }
  if (!pattern.test(tag)) {
    throw new ValidationError('tag', `must match the tag pattern ${pattern.source}, got ${show(tag)}`);
  }
}
