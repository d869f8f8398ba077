// The `process` units driver, for hosts without a user manager (development, containers): each
// color's backend is a detached child supervised by this daemon. Its state file
// `<stateDir>/<app>-<color>.json` (spec + pid, written atomically) lets a restarted daemon adopt a
// backend that is still running instead of starting a second one on the same port.
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { HypervisorError, NotFoundError, ValidationError } from '../common/errors.js';
import { type Color } from '../common/types.js';
import { isNotFound, removeFileDurable, writeFileAtomic } from '../common/atomic-write.js';
import { guardWrite } from '../common/write-failure.js';
import { notInstalled, type UnitDriver, type UnitObservation, type UnitSpec } from './driver.js';
import { ProcessSlot, type SlotState, type SlotTiming } from './process-slot.js';
import { asSpec, unitName, validateSpec } from './unit-file.js';

export interface ProcessDriverOptions {
  /** `app.name`: state files are `<appName>-<color>.json`. */
  appName: string;
  /** Folder of the state files; created on first install. */
  stateDir: string;
  /** Delay before the first automatic restart; doubles per failure in the start-limit window. @default 250 */
  restartDelayMs?: number;
  /** @default 5_000 */
  maxRestartDelayMs?: number;
  /** Starts within startLimitIntervalMs after which a crashing backend is left `failed`. @default 5 */
  startLimitBurst?: number;
  /** @default 60_000 */
  startLimitIntervalMs?: number;
  /** How often an adopted backend (not our child) is checked for liveness. @default 500 */
  pollIntervalMs?: number;
  /** SIGTERM, then SIGKILL after this long. @default 10_000 */
  stopTimeoutMs?: number;
}

export class ProcessDriver implements UnitDriver {
  readonly kind = 'process' as const;
  #appName: string;
  #stateDir: string;
  #timing: SlotTiming;
  /** Loaded lazily: the first call for a color reads its state file and adopts what it finds. */
  #slots = new Map<Color, Promise<ProcessSlot | null>>();
  #closed = false;

  constructor(options: ProcessDriverOptions) {
    unitName(options.appName, 'blue'); // validates the app name now, with the bad value in the message
    if (!path.isAbsolute(options.stateDir)) {
      throw new ValidationError('stateDir', `must be an absolute path, got ${JSON.stringify(options.stateDir)}`);
    }
    this.#appName = options.appName;
    this.#stateDir = options.stateDir;
    this.#timing = {
      restartDelayMs: positive('restartDelayMs', options.restartDelayMs, 250),
      maxRestartDelayMs: positive('maxRestartDelayMs', options.maxRestartDelayMs, 5_000),
      startLimitBurst: positive('startLimitBurst', options.startLimitBurst, 5),
      startLimitIntervalMs: positive('startLimitIntervalMs', options.startLimitIntervalMs, 60_000),
      pollIntervalMs: positive('pollIntervalMs', options.pollIntervalMs, 500),
      stopTimeoutMs: positive('stopTimeoutMs', options.stopTimeoutMs, 10_000),
    };
  }

  async install(spec: UnitSpec): Promise<{ changed: boolean }> {
    validateSpec(spec); // before anything touches the disk
    this.#checkOpen();
    await guardWrite(this.#stateDir, () => mkdir(this.#stateDir, { recursive: true }));
    await guardWrite(spec.logFile, () => mkdir(path.dirname(spec.logFile), { recursive: true }));
    const slot = await this.#slot(spec.color);
    if (slot) {
      if (isDeepStrictEqual(slot.spec, spec)) return { changed: false };
      await slot.setSpec({ ...spec });
      return { changed: true };
    }
    const state: SlotState = { spec: { ...spec }, wanted: false, nRestarts: 0, running: null };
    await this.#write(spec.color, state);
    this.#slots.set(spec.color, Promise.resolve(this.#newSlot(state)));
    return { changed: true };
  }

  async uninstall(color: Color): Promise<void> {
    const slot = await this.#slot(color);
    if (!slot) return;
    await slot.stop();
    await slot.close();
    this.#slots.set(color, Promise.resolve(null));
    await removeFileDurable(this.#file(color));
  }

  async start(color: Color): Promise<void> {
    await (await this.#installed(color)).start();
  }

  async stop(color: Color): Promise<void> {
    await (await this.#slot(color))?.stop();
  }

  async restart(color: Color): Promise<void> {
    await (await this.#installed(color)).restart();
  }

  async observe(color: Color): Promise<UnitObservation> {
    const slot = await this.#slot(color);
    if (!slot) return notInstalled(color);
    return { color, loadState: 'loaded', ...slot.observe(), installed: { ...slot.spec }, drift: null };
  }

  /** Stops supervising; backends keep running and a new driver adopts them from the state files. */
  async close(): Promise<void> {
    this.#closed = true;
    const slots = await Promise.all([...this.#slots.values()].map((p) => p.catch(() => null)));
    await Promise.all(slots.map((slot) => slot?.close()));
  }

  #file(color: Color): string {
    return path.join(this.#stateDir, `${this.#appName}-${color}.json`);
  }

  async #installed(color: Color): Promise<ProcessSlot> {
    const slot = await this.#slot(color);
    if (!slot) throw new NotFoundError(`unit ${unitName(this.#appName, color)} is not installed`);
    return slot;
  }

  #slot(color: Color): Promise<ProcessSlot | null> {
    this.#checkOpen();
    let slot = this.#slots.get(color);
    if (!slot) {
      slot = this.#load(color);
      this.#slots.set(color, slot);
      slot.catch(() => this.#slots.delete(color)); // a failed load is retried by the next call
    }
    return slot;
  }

  async #load(color: Color): Promise<ProcessSlot | null> {
    const state = await this.#read(color);
    if (!state) return null;
    const slot = this.#newSlot(state);
    await slot.adopt();
    return slot;
  }

  async #read(color: Color): Promise<SlotState | null> {
    const file = this.#file(color);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
    const state = parseState(text);
    if (!state || state.spec.color !== color)
      throw new HypervisorError('state_corrupt', `${file} is not a valid ${color} state file`);
    return state;
  }

  #newSlot(state: SlotState): ProcessSlot {
    return new ProcessSlot(state, this.#timing, (s) => this.#write(s.spec.color, s));
  }

  async #write(color: Color, state: SlotState): Promise<void> {
    await writeFileAtomic(this.#file(color), `${JSON.stringify(state, null, 2)}\n`);
  }

  #checkOpen(): void {
    if (this.#closed) throw new HypervisorError('closed', 'this ProcessDriver is closed');
  }
}

function parseState(text: string): SlotState | null {
  let value: Partial<Record<keyof SlotState, unknown>>;
  try {
    value = JSON.parse(text) as typeof value;
  } catch {
    return null;
  }
  const spec = asSpec(value.spec);
  const running = value.running as SlotState['running'] | undefined;
  const validRunning =
    running === null ||
    (typeof running === 'object' &&
      running !== undefined &&
      Number.isInteger(running.pid) &&
      running.pid > 0 &&
      Array.isArray(running.argv) &&
      running.argv.every((a) => typeof a === 'string'));
  if (!spec || !validRunning || typeof value.wanted !== 'boolean' || !Number.isInteger(value.nRestarts)) return null;
  return { spec, wanted: value.wanted, nRestarts: value.nRestarts as number, running };
}

function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v <= 0)
    throw new ValidationError(name, `must be a positive number, got ${JSON.stringify(value)}`);
  return v;
}
