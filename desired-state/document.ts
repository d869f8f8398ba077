// The desired-state document (ARCHITECTURE.md, "Desired state"): validation, equality, a human
// diff, the merge of a hand edit, and the outage rule. Every source (API, file, git) funnels through
// readDesired and the revisions service, so whatever reaches the store is well-formed (exactly two
// colors, safe tags, an active color that can serve) and no source stops traffic by accident.
import { describeValue } from '../common/describe.js';
import { ValidationError, WouldStopTrafficError } from '../common/errors.js';
import { isSafeTag, SAFE_TAG_RULE, statelessPattern } from '../common/git-names.js';
import { COLORS, isColor, type Color, type DesiredDoc } from '../common/types.js';

const TOP_KEYS = ['active', 'colors', 'paused', 'allowOutage'] as const;
const COLOR_KEYS = ['tag'] as const;

export function emptyDesired(): DesiredDoc {
  return { active: null, colors: { blue: { tag: null }, green: { tag: null } }, paused: false };
}

/** A document as a source hands it in: the desired state, and whether it confirms an outage. */
export interface DesiredInput {
  doc: DesiredDoc;
  /**
   * `allowOutage: true` in the document: this change may leave no color serving (see checkOutage).
   * It confirms one change and is not part of the state, so it is never stored or written back.
   */
  allowOutage: boolean;
}

/**
 * Checks an untrusted value (parsed YAML or JSON) and returns a fresh DesiredDoc that shares
 * nothing with it. Missing keys take their defaults: `active: null`, a missing color is
 * `{tag: null}` (stopped), `paused: false`. Throws ValidationError naming the dotted path and value.
 */
export function readDesired(value: unknown, tagPattern: RegExp): DesiredInput {
  const top = mapping(value, '');
  rejectUnknownKeys(top, TOP_KEYS, '');
  const doc: DesiredDoc = {
    active: readActive(top['active']),
    colors: readColors(top['colors'], tagPattern),
    paused: readBoolean(top['paused'], 'paused'),
  };
  if (doc.active !== null && doc.colors[doc.active].tag === null) {
    throw new ValidationError('active', `${doc.active} has no tag; a color must have a tag to be active`);
  }
  return { doc, allowOutage: readBoolean(top['allowOutage'], 'allowOutage') };
}

/** readDesired without the confirmation: the document alone. */
export function validateDesired(value: unknown, tagPattern: RegExp): DesiredDoc {
  return readDesired(value, tagPattern).doc;
}

/** Checks one tag against the configured pattern and the safe charset; null means "stopped". */
export function validateTag(value: unknown, tagPattern: RegExp, path: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') {
    throw new ValidationError(path, `must be a tag string or null, got ${describeValue(value)}`);
  }
  // The configured pattern first: its message is the one operators recognise.
  if (!statelessPattern(tagPattern).test(value)) {
    throw new ValidationError(path, `${describeValue(value)} does not match ${tagPattern.source}`);
  }
  // Whatever the pattern allows, a tag also becomes a path, a unit argument and a git ref.
  if (!isSafeTag(value)) throw new ValidationError(path, `${describeValue(value)} is not a safe tag: ${SAFE_TAG_RULE}`);
  return value;
}

export function sameDesired(a: DesiredDoc, b: DesiredDoc): boolean {
  return (
    a.active === b.active &&
    a.paused === b.paused &&
    COLORS.every((color) => a.colors[color].tag === b.colors[color].tag)
  );
}

/** What an operator changes in a document: a color's tag, the active color, paused. */
export type DesiredField = Color | 'active' | 'paused';

export interface FieldChange {
  field: DesiredField;
  /** As an operator reads it: a tag, a color, `true`/`false`, or `none`. */
  before: string;
  after: string;
}

/** Each field that differs, in a fixed order (colors, active, paused); empty when the same. */
export function changedFields(a: DesiredDoc, b: DesiredDoc): FieldChange[] {
  const changes: FieldChange[] = [];
  const add = (field: DesiredField, before: string | boolean | null, after: string | boolean | null): void => {
    if (before !== after) changes.push({ field, before: String(before ?? 'none'), after: String(after ?? 'none') });
  };
  for (const color of COLORS) add(color, a.colors[color].tag, b.colors[color].tag);
  add('active', a.active, b.active);
  add('paused', a.paused, b.paused);
  return changes;
}

/** One line per difference, e.g. `green: v1 -> v2`, `active: blue -> green`; empty when the same. */
export function describeChange(a: DesiredDoc, b: DesiredDoc): string[] {
  return changedFields(a, b).map((c) => `${c.field}: ${c.before} -> ${c.after}`);
}

/**
 * A hand edit as a change: each field where `edited` differs from `base` (what the edited copy held
 * before the edit) takes the edited value; every other field keeps its value in `latest`. So an
 * edit made on an older copy changes what its author changed, and undoes nothing written since.
 */
export function mergeEdit(base: DesiredDoc, edited: DesiredDoc, latest: DesiredDoc): DesiredDoc {
  const pick = <T>(before: T, after: T, now: T): T => (after === before ? now : after);
  const colors = emptyDesired().colors;
  for (const color of COLORS) {
    colors[color].tag = pick(base.colors[color].tag, edited.colors[color].tag, latest.colors[color].tag);
  }
  return {
    active: pick(base.active, edited.active, latest.active),
    colors,
    paused: pick(base.paused, edited.paused, latest.paused),
  };
}

/** How a change says it means to stop traffic, and how the refusal tells its author to say so. */
export interface OutageConsent {
  /** The change may leave no color serving. @default false */
  allowOutage?: boolean;
  /** Named in the refusal: how this source confirms. @default "add `allowOutage: true` to the document" */
  confirmOutageWith?: string;
}

/**
 * No self-inflicted outage by accident: a change that leaves no color serving while one serves now
 * (`active: null`, or the active color's tag removed) is refused with WouldStopTrafficError unless
 * it is confirmed. "Serves now" is the latest revision's active color; the first revision stops nothing.
 */
export function checkOutage(current: DesiredDoc | null, next: DesiredDoc, consent: OutageConsent): void {
  const serving = current?.active ?? null;
  const tag = serving === null ? null : current!.colors[serving].tag;
  if (serving === null || tag === null || consent.allowOutage) return;
  if (next.active !== null && next.colors[next.active].tag !== null) return;
  throw new WouldStopTrafficError(
    `this change would stop traffic: ${serving} serves ${tag} now and no color would serve after it; ` +
      `to stop traffic on purpose, ${consent.confirmOutageWith ?? 'add `allowOutage: true` to the document'}`,
  );
}

function readActive(value: unknown): Color | null {
  if (value === undefined || value === null) return null;
  if (!isColor(value)) {
    throw new ValidationError('active', `must be ${COLORS.join(', ')} or null, got ${describeValue(value)}`);
  }
  return value;
}

function readBoolean(value: unknown, path: string): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') {
    throw new ValidationError(path, `must be true or false, got ${describeValue(value)}`);
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
