// A tag becomes a path segment (<root>/repos/<tag>), a git argument and a store key, so it is checked
// against a strict charset before anything else touches it. The configured tag pattern alone is not
// enough: an operator may configure a loose one.
import { ValidationError } from '../../common/errors.js';

/** `v`, then an alphanumeric, then at most 99 of [0-9A-Za-z._-]; no `..`, no trailing `.` or `.lock` (git refuses those). */
const SAFE_TAG = /^v[0-9A-Za-z][0-9A-Za-z._-]{0,99}$/;

export function isSafeTag(tag: unknown): tag is string {
  return (
    typeof tag === 'string' && SAFE_TAG.test(tag) && !tag.includes('..') && !tag.endsWith('.') && !tag.endsWith('.lock')
  );
}

/** A short, escaped rendering of an untrusted value for an error message. */
function show(value: unknown): string {
  const text = JSON.stringify(typeof value === 'string' && value.length > 60 ? `${value.slice(0, 57)}...` : value);
  return text === undefined ? String(value) : text;
}

/** Throws ValidationError unless `tag` is safe and matches `pattern` (a copy without g/y flags, so no lastIndex state). */
export function assertReleaseTag(tag: unknown, pattern: RegExp): asserts tag is string {
  if (!isSafeTag(tag)) {
    throw new ValidationError('tag', `must be v followed by 1-100 of [0-9A-Za-z._-] without "..", got ${show(tag)}`);
  }
  if (!pattern.test(tag)) {
    throw new ValidationError('tag', `must match the tag pattern ${pattern.source}, got ${show(tag)}`);
  }
}

/** The pattern without stateful flags, so `test()` gives the same answer every time. */
export function statelessPattern(pattern: RegExp): RegExp {
  return new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
}
