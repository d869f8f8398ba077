// The names the hypervisor takes from outside and hands to git, a path or a store key: a commit
// SHA, a release tag, a tag of the hypervisor's own repository. One definition of each, so the
// API, the desired state, the pipeline and hyperctl upgrade accept and refuse the same names.

/** A full commit SHA as git prints it: 40 lowercase hex digits (a SHA only ever travels whole). */
export const FULL_SHA = /^[0-9a-f]{40}$/;

/** The default `app.tagPattern`: `v<YY.MM.DD.B>` (ARCHITECTURE.md, "release"). */
export const DEFAULT_TAG_PATTERN = '^v\\d{2}\\.\\d{2}\\.\\d{2}\\.\\d+$';

/**
 * The charset every release tag must also pass, whatever the configured pattern: tags become folder
 * names (`<root>/repos/<tag>`), unit arguments, git refs and store keys, so shell and path
 * metacharacters are refused even if an operator configures a lax tagPattern.
 */
export const SAFE_TAG = /^v[0-9A-Za-z][0-9A-Za-z._-]{0,99}$/;

/** SAFE_TAG and gitAccepts, in words, for the messages that refuse a tag. */
export const SAFE_TAG_RULE =
  '"v", a letter or digit, then up to 99 of letters, digits, ".", "_", "-"; no "..", and no "." or ".lock" at the end';

/** A tag of the hypervisor's own repository: it becomes a folder name (`builds/<tag>`), so no `/`. */
const BUILD_TAG = /^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$/;

export function isSafeTag(tag: unknown): tag is string {
  return typeof tag === 'string' && SAFE_TAG.test(tag) && gitAccepts(tag);
}

export function isBuildTag(tag: string): boolean {
  return BUILD_TAG.test(tag) && gitAccepts(tag);
}

/** What git refuses in a ref name even within the charset (`git check-ref-format`), and `..` in a path. */
function gitAccepts(name: string): boolean {
  return !name.includes('..') && !name.endsWith('.') && !name.endsWith('.lock');
}

/** The pattern without stateful flags (g, y), so `test()` gives the same answer every time. */
export function statelessPattern(pattern: RegExp): RegExp {
  return pattern.global || pattern.sticky ? new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, '')) : pattern;
}
