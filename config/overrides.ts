// Runtime changes to the config (`hyper-cli config set KEY VALUE`): only the sections an operator
// tunes while the daemon runs -- `policy`, `gates`, `notify` -- and each change is checked by the same
// reader as the file, on the whole document, so a value the file would refuse is refused here too.
// The changes live in `<root>/config-overrides.json` (mode 0600, replaced atomically) and are laid
// over the config file at every start; the file itself is never rewritten (an operator's comments
// and layout stay, and a config-management tool that owns it is not fought).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { writeFileAtomic } from '../common/atomic-write.js';
import { describeValue } from '../common/describe.js';
import { HypervisorError, ValidationError } from '../common/errors.js';
import { loadConfig, validateConfig, type Config } from './config.js';

/** The sections `config set` may change; every other key is read from the file only (README). */
export const SETTABLE_SECTIONS = ['policy', 'gates', 'notify'] as const;

/** One runtime change, in the order it was made. */
export interface Override {
  key: string;
  value: unknown;
  by: string;
  at: string;
}

/** What a running daemon needs to lay a new change over its config file. */
export interface ConfigSource {
  /** The config file's document as parsed, before any override. */
  raw: unknown;
  baseDir: string;
  overridesFile: string;
  overrides: readonly Override[];
}

/** The daemon was started from a Config, not a file (in-process tests): nothing to lay a change over. */
export class NoConfigFileError extends HypervisorError {
  constructor() {
    super('unavailable', 'this daemon was started without a config file: config set has nothing to change');
  }
}

/** A key outside the settable sections: refused, naming why it is file-only. */
export class FileOnlyKeyError extends ValidationError {}

const KEY = /^[A-Za-z][A-Za-z0-9]*(\.([A-Za-z][A-Za-z0-9]*|\d{1,3}))*$/;

export function overridesPath(root: string): string {
  return path.join(root, 'config-overrides.json');
}

/** Reads the config file and lays the overrides file over it (a bad override stops the start like a bad file). */
export function loadConfigSource(file: string): { config: Config; source: ConfigSource } {
  const fromFile = loadConfig(file);
  const raw: unknown = YAML.parse(readFileSync(file, 'utf8'));
  const baseDir = path.dirname(path.resolve(file));
  const overridesFile = overridesPath(fromFile.root);
  const overrides = readOverrides(overridesFile);
  const source = { raw, baseDir, overridesFile, overrides };
  try {
    return { config: overrides.length === 0 ? fromFile : validateConfig(layered(source), baseDir), source };
  } catch (err) {
    if (err instanceof ValidationError) throw new ValidationError('', `${overridesFile}: ${err.message}`);
    throw err;
  }
}

/** The config with `key` set to `value` on top of the earlier overrides; throws ValidationError, changes nothing. */
export function withOverride(source: ConfigSource, change: Override): { config: Config; overrides: Override[] } {
  checkKey(change.key);
  // A later change to a key replaces earlier changes to it and to the keys inside it.
  const kept = source.overrides.filter((o) => o.key !== change.key && !o.key.startsWith(`${change.key}.`));
  const overrides = [...kept, change];
  return { config: validateConfig(layered({ ...source, overrides }), source.baseDir), overrides };
}

export async function saveOverrides(file: string, overrides: readonly Override[]): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify({ overrides }, null, 2)}\n`, { mode: 0o600 });
}

function checkKey(key: string): void {
  if (!KEY.test(key)) {
    throw new ValidationError('', `a key is dotted names like policy.autoPromote, got ${describeValue(key)}`);
  }
  const section = key.split('.')[0]!;
  if (!(SETTABLE_SECTIONS as readonly string[]).includes(section)) {
    throw new FileOnlyKeyError(
      key,
      `is read from the config file only (restart after editing it): it shapes how the daemon is built ` +
        `(listeners, store, units, paths, secrets); config set changes ${SETTABLE_SECTIONS.join(', ')}`,
    );
  }
}

function layered(source: Pick<ConfigSource, 'raw' | 'overrides'>): unknown {
  const doc: unknown = structuredClone(source.raw ?? {});
  for (const o of source.overrides) setPath(doc, o.key.split('.'), o.value);
  return doc;
}

function setPath(doc: unknown, segments: string[], value: unknown): void {
  let node = doc as Record<string, unknown>;
  segments.forEach((segment, i) => {
    const at = segments.slice(0, i + 1).join('.');
    if (Array.isArray(node) && !/^\d+$/.test(segment))
      throw new ValidationError(at, `${segments.slice(0, i).join('.')} is a list: use an index`);
    if (Array.isArray(node) && Number(segment) > node.length)
      throw new ValidationError(at, `the list has ${node.length} entries: the next one is ${node.length}`);
    if (i === segments.length - 1) {
      node[segment] = value;
      return;
    }
    node[segment] ??= /^\d+$/.test(segments[i + 1]!) ? [] : {};
    const next = node[segment];
    if (typeof next !== 'object' || next === null)
      throw new ValidationError(at, `is ${describeValue(next)}, not a section: set ${at} itself`);
    node = next as Record<string, unknown>;
  });
}

function readOverrides(file: string): Override[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new ValidationError('', `cannot read ${file}: ${(err as Error).message}`);
  }
  let parsed: { overrides?: unknown } | null;
  try {
    parsed = JSON.parse(text) as { overrides?: unknown } | null;
  } catch (err) {
    throw new ValidationError('', `${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(parsed?.overrides)) throw new ValidationError('', `${file}: overrides must be a list`);
  return parsed.overrides as Override[];
}

/** The running config and its runtime changes, as the API sees them (daemon/runtime-config.ts). */
export interface RuntimeConfigPort {
  current(): Config;
  overrides(): readonly Override[];
  /** Null without a config file: then set() rejects with NoConfigFileError. */
  readonly overridesFile: string | null;
  /** Checks, persists and applies one change; a ValidationError leaves everything as it was. */
  set(change: Override): Promise<Config>;
}
