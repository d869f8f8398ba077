// Where a canary rollout survives a restart: one small JSON file under the root, written atomically.
// It is this host's own (each host splits its own traffic), so it is a file, not a store record.
import { readIfExists, removeFileDurable, writeFileAtomic } from '../common/atomic-write.js';
import { isColor } from '../common/types.js';
import type { PersistedCanary } from './canary.js';

export class CanaryFile {
  readonly #file: string;

  constructor(file: string) {
    this.#file = file;
  }

  get path(): string {
    return this.#file;
  }

  /** The rollout an earlier daemon left, or null (none, or a file that does not describe one: ignored). */
  async load(): Promise<PersistedCanary | null> {
    const text = await readIfExists(this.#file);
    if (text === null) return null;
    try {
      return parsed(JSON.parse(text) as unknown);
    } catch {
      return null;
    }
  }

  async save(state: PersistedCanary | null): Promise<void> {
    if (state === null) await removeFileDurable(this.#file);
    else await writeFileAtomic(this.#file, `${JSON.stringify(state)}\n`, { mode: 0o600 });
  }
}

function parsed(value: unknown): PersistedCanary | null {
  const v = value as Partial<Record<keyof PersistedCanary, unknown>> | null;
  if (v === null || typeof v !== 'object') return null;
  if (!isColor(v.from) || !isColor(v.to) || v.from === v.to) return null;
  if (typeof v.tag !== 'string' || !Number.isInteger(v.step) || (v.step as number) < 0) return null;
  return { from: v.from, to: v.to, tag: v.tag, step: v.step as number };
}
