// The desired-state document as text: the one format operators edit (API PUT, the desired file, a
// config repo). JSON is accepted too because JSON is YAML. Parsing is strict: a syntax error, a
// duplicate key or an unknown YAML tag is refused rather than guessed at, with its line.
import YAML, { type Document } from 'yaml';
import { ValidationError } from '../common/errors.js';
import { checkYamlNesting } from '../common/nesting.js';
import { COLORS, type DesiredDoc } from '../common/types.js';
import { readDesired, type DesiredInput } from './document.js';

/** Parses and validates desired-state YAML (or JSON). Throws ValidationError with line information. */
export function parseDesiredYaml(text: string, tagPattern: RegExp): DesiredDoc {
  return parseDesiredInput(text, tagPattern).doc;
}

/** parseDesiredYaml with the document's `allowOutage` confirmation. */
export function parseDesiredInput(text: string, tagPattern: RegExp): DesiredInput {
  // Before yaml composes anything: its composer and toJS recurse once per level.
  checkYamlNesting(text, 'desired state');
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) throw yamlError(doc, problem);
  return readDesired(toPlain(doc), tagPattern);
}

/**
 * The canonical text of a document, as in ARCHITECTURE.md: keys in a fixed order, one flow
 * mapping per color. Stable, so a formatted document written back to the file is an identical
 * rewrite (no new revision) and diffs between revisions stay one line per change.
 */
export function formatDesiredYaml(doc: DesiredDoc): string {
  const lines = [`active: ${scalar(doc.active)}`, 'colors:'];
  for (const color of COLORS) lines.push(`  ${color}: { tag: ${scalar(doc.colors[color].tag)} }`);
  lines.push(`paused: ${scalar(doc.paused)}`);
  return `${lines.join('\n')}\n`;
}

/** A scalar as YAML would write it: quoted only when a plain scalar would read back differently. */
function scalar(value: string | boolean | null): string {
  return YAML.stringify(value, { lineWidth: 0 }).trimEnd();
}

function toPlain(doc: Document): unknown {
  try {
    return doc.toJS({ maxAliasCount: 20 });
  } catch (err) {
    // Unresolvable or exploding aliases surface only when the tree is built.
    throw new ValidationError('', `desired state is not valid YAML: ${(err as Error).message}`);
  }
}

function yamlError(doc: Document, problem: YAML.YAMLError): ValidationError {
  const where = problem.linePos ? ` at line ${problem.linePos[0].line}, column ${problem.linePos[0].col}` : '';
  if (problem.code === 'DUPLICATE_KEY') {
    return new ValidationError(duplicatePath(doc, problem), `duplicate key${where}; each key may appear once`);
  }
  return new ValidationError('', `desired state is not valid YAML: ${firstLine(problem.message)}`);
}

/** The dotted path of a duplicate key, so the message names it. */
function duplicatePath(doc: Document, problem: YAML.YAMLError): string {
  if (problem.code !== 'DUPLICATE_KEY') return '';
  let found = '';
  YAML.visit(doc, {
    Pair(_, pair, ancestors) {
      if (!YAML.isScalar(pair.key) || pair.key.range?.[0] !== problem.pos[0]) return undefined;
      const parents = ancestors.filter(YAML.isPair).map((p) => keyText(p.key));
      found = [...parents, keyText(pair.key)].join('.');
      return YAML.visit.BREAK;
    },
  });
  return found;
}

function keyText(key: unknown): string {
  return YAML.isScalar(key) ? String(key.value) : String(key);
}

/** yaml's pretty errors append a source excerpt; the first line already says what and where. */
function firstLine(message: string): string {
  return message.split('\n', 1)[0]!.replace(/:$/, '');
}
