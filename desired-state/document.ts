// The desired-state document (ARCHITECTURE.md, "Desired state"): validation, equality, and a
// human diff. Every source (API, file, git) funnels through validateDesired, so whatever reaches
// the store is well-formed: exactly two colors, safe tags, an active color that can serve.
import { describeValue } from '../common/describe.js';
import { ValidationError } from '../common/errors.js';
import { COLORS, isColor, type Color, type DesiredDoc } from '../common/types.js';

/**
 * Every tag must also pass this, whatever the configured pattern: tags become folder names
 * (`<root>/repos/<tag>`), unit arguments and git refs, so shell and path metacharacters are
 * refused even if an operator configures a lax tagPattern.
 */
export const SAFE_TAG = /^v[0-9A-Za-z._-]{1,100}$/;

const TOP_KEYS = ['active', 'colors', 'paused'] as const;
const COLOR_KEYS = ['tag'] as const;

export function emptyDesired(): DesiredDoc {
  return { active: null, colors: { blue: { tag: null }, green: { tag: null } }, paused: false };
}

/**
 * Checks an untrusted value (parsed YAML or JSON) and returns a fresh DesiredDoc that shares
 * nothing with it. Missing keys take their defaults: `active: null`, a missing color is
 * `{tag: null}` (stopped), `paused: false`. Throws ValidationError naming the dotted path and value.
 */
export function validateDesired(value: unknown, tagPattern: RegExp): DesiredDoc {
  const top = mapping(value, '');
  rejectUnknownKeys(top, TOP_KEYS, '');
  const doc: DesiredDoc = {
    active: readActive(top['active']),
    colors: readColors(top['colors'], tagPattern),
    paused: readPaused(top['paused']),
  };
  if (doc.active !== null && doc.colors[doc.active].tag === null) {
    throw new ValidationError('active', `${doc.active} has no tag; a color must have a tag to be active`);
  }
  return doc;
}

/** Checks one tag against the configured pattern and the safe charset; null means "stopped". */
export function validateTag(value: unknown, tagPattern: RegExp, path: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') {
    throw new ValidationError(path, `must be a tag string or null, got ${describeValue(value)}`);
  }
  // The configured pattern first: its message is the one operators recognise.
  if (!testPattern(tagPattern, value)) {
    throw new ValidationError(path, `${describeValue(value)} does not match ${tagPattern.source}`);
  }
  if (!SAFE_TAG.test(value) || value.includes('..')) {
    throw new ValidationError(
      path,
      `${describeValue(value)} is not a safe tag: "v" then 1 to 100 of letters, digits, ".", "_", "-", and no ".."`,
    );
  }
  return value;
}

export function sameDesired(a: DesiredDoc, b: DesiredDoc): boolean {
  return (
    a.active === b.active &&
    a.paused === b.paused &&
    COLORS.every((color) => a.colors[color].tag === b.colors[color].tag)
  );
}

/** One line per difference, e.g. `green: v1 -> v2`, `active: blue -> green`; empty when the same. */
export function describeChange(a: DesiredDoc, b: DesiredDoc): string[] {
  const lines: string[] = [];
  for (const color of COLORS) {
    const before = a.colors[color].tag;
    const after = b.colors[color].tag;
    if (before !== after) lines.push(`${color}: ${before ?? 'none'} -> ${after ?? 'none'}`);
  }
  if (a.active !== b.active) lines.push(`active: ${a.active ?? 'none'} -> ${b.active ?? 'none'}`);
  if (a.paused !== b.paused) lines.push(`paused: ${a.paused} -> ${b.paused}`);
  return lines;
}

function readActive(value: unknown): Color | null {
  if (value === undefined || value === null) return null;
  if (!isColor(value)) {
    throw new ValidationError('active', `must be ${COLORS.join(', ')} or null, got ${describeValue(value)}`);
  }
  return value;
}

function readPaused(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') {
    throw new ValidationError('paused', `must be true or false, got ${describeValue(value)}`);
  }
  return value;
}

function readColors(value: unknown, tagPattern: RegExp): DesiredDoc['colors'] {
  const colors = emptyDesired().colors;
  if (value === undefined || value === null) return colors;
  const obj = mapping(value, 'colors');
  for (const key of Object.keys(obj)) {
    if (!isColor(key)) throw new ValidationError(`colors.${key}`, `unknown color ${describeValue(key)}`);
    colors[key] = readColor(obj[key], tagPattern, `colors.${key}`);
  }
  return colors;
}

function readColor(value: unknown, tagPattern: RegExp, path: string): { tag: string | null } {
  // `blue:` with nothing after it parses as null: the same as leaving the color out.
  if (value === undefined || value === null) return { tag: null };
  const obj = mapping(value, path);
  rejectUnknownKeys(obj, COLOR_KEYS, path);
  return { tag: validateTag(obj['tag'], tagPattern, `${path}.tag`) };
}

function mapping(value: unknown, path: string): Record<string, unknown> {
  if (path === '' && (value === undefined || value === null)) {
    // An empty file is refused, not read as "stop everything": a half-written file must not wipe the slots.
    throw new ValidationError('', 'desired state is empty; expected a mapping with active, colors and paused');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const what = path === '' ? 'desired state' : 'value';
    throw new ValidationError(path, `${what} must be a mapping, got ${describeValue(value)}`);
  }
  return value as Record<string, unknown>;
}

function rejectUnknownKeys(obj: Record<string, unknown>, known: readonly string[], path: string): void {
  for (const key of Object.keys(obj)) {
    if (!known.includes(key)) {
      const keyPath = path === '' ? key : `${path}.${key}`;
      throw new ValidationError(keyPath, `unknown key (value ${describeValue(obj[key])})`);
    }
  }
}

/** A /g or /y pattern keeps state in lastIndex between calls; test against a stateless copy. */
function testPattern(pattern: RegExp, value: string): boolean {
  const stateless =
    pattern.global || pattern.sticky ? new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, '')) : pattern;
  return stateless.test(value);
}
