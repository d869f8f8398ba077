// `hyper-cli config set` in the daemon: a change is checked like the file (config/overrides.ts),
// then each part that holds a copy of the config prepares it (notify opens the new targets' channels,
// reading their secret files: a bad one refuses the change), then it is written to the overrides
// file, and only then applied. A change that fails before the write leaves the daemon as it was.
import type { Config } from '../config/config.js';
import {
  saveOverrides,
  withOverride,
  NoConfigFileError,
  type ConfigSource,
  type Override,
  type RuntimeConfigPort,
} from '../config/overrides.js';

/** Prepares `next` (may throw, refusing the change) and returns what applies it once it is saved. */
export type ConfigApplier = (next: Config, previous: Config) => Promise<() => Promise<void>>;

export class RuntimeConfig implements RuntimeConfigPort {
  #source: ConfigSource | null;
  #config: Config;
  readonly #appliers: ConfigApplier[] = [];
  /** One change at a time: two admins setting keys at once must not lose one. */
  #last: Promise<unknown> = Promise.resolve();

  constructor(config: Config, source: ConfigSource | null) {
    this.#config = config;
    this.#source = source;
  }

  get overridesFile(): string | null {
    return this.#source?.overridesFile ?? null;
  }

  current(): Config {
    return this.#config;
  }

  overrides(): readonly Override[] {
    return this.#source?.overrides ?? [];
  }

  /** Appliers run in the order added; add the ones that open resources last. */
  onChange(applier: ConfigApplier): void {
    this.#appliers.push(applier);
  }

  set(change: Override): Promise<Config> {
    const run = this.#last.then(() => this.#apply(change));
    this.#last = run.catch(() => undefined);
    return run;
  }

  async #apply(change: Override): Promise<Config> {
    if (this.#source === null) throw new NoConfigFileError();
    const { config, overrides } = withOverride(this.#source, change);
    const commits: Array<() => Promise<void>> = [];
    for (const prepare of this.#appliers) commits.push(await prepare(config, this.#config));
    await saveOverrides(this.#source.overridesFile, overrides);
    this.#source = { ...this.#source, overrides };
    this.#config = config;
    for (const commit of commits) await commit();
    return config;
  }
}
