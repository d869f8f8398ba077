// The `systemd` units driver: each color is a real user unit `<app>-<color>.service` under
// `$XDG_CONFIG_HOME/systemd/user/`, driven through `systemctl --user`. systemd does the
// supervision (Restart=on-failure); this driver only writes files and asks questions.
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { ensureDir, ensureFile, LOG_DIR_MODE, LOG_FILE_MODE } from '../common/file-modes.js';
import path from 'node:path';
import { NotFoundError } from '../common/errors.js';
import { type Color } from '../common/types.js';
import { isFailed, isLoaded, isNotFound } from '../common/unit-state.js';
import { removeFileDurable, readIfExists, writeFileAtomic } from '../common/atomic-write.js';
import { guardWrite, guardWriteSync } from '../common/write-failure.js';
import { type UnitDriver, type UnitObservation, type UnitSpec } from './driver.js';
import { EXIT_UNIT_NOT_FOUND, Systemctl, SystemctlError, defaultUserEnv, type SystemdUserEnv } from './systemctl.js';
import { parseInstalledSpec, renderUnit, unitName } from './unit-file.js';

export interface SystemdDriverOptions {
  /** `app.name`: units are `<appName>-blue.service` and `<appName>-green.service`. */
  appName: string;
  /** Which user manager. @default defaultUserEnv() */
  env?: SystemdUserEnv;
  /** Upper bound for one systemctl call. @default 30_000 */
  timeoutMs?: number;
}

export class SystemdDriver implements UnitDriver {
  readonly kind = 'systemd' as const;
  readonly unitDir: string;
  #appName: string;
  #systemctl: Systemctl;

  constructor(options: SystemdDriverOptions) {
    unitName(options.appName, 'blue'); // validates the app name now, with the bad value in the message
    this.#appName = options.appName;
    const env = options.env ?? defaultUserEnv();
    this.#systemctl = new Systemctl({ env, timeoutMs: options.timeoutMs });
    this.unitDir = path.join(env.XDG_CONFIG_HOME, 'systemd', 'user');
  }

  async install(spec: UnitSpec): Promise<{ changed: boolean }> {
    const text = renderUnit(spec, this.#appName); // validates before anything touches the disk
    await guardWrite(this.unitDir, () => mkdir(this.unitDir, { recursive: true }));
    // systemd creates an `append:` file 0644; made first, it keeps the mode logs have (0640).
    guardWriteSync(spec.logFile, () => {
      ensureDir(path.dirname(spec.logFile), LOG_DIR_MODE);
      ensureFile(spec.logFile, LOG_FILE_MODE);
    });
    const unit = this.#unit(spec.color);
    const written = await writeFileAtomic(this.#file(spec.color), text);
    // The hypervisor owns these units whole: overrides from `systemctl --user edit` are drift.
    const changed = written.changed || (await this.#removeDropIns(spec.color));
    // An unchanged file may still be unknown to systemd when a crash fell between write and reload.
    if (changed || (await this.#needsReload(unit))) {
      await this.#systemctl.daemonReload();
      await this.#systemctl.enable(unit);
    }
    return { changed };
  }

  async uninstall(color: Color): Promise<void> {
    const unit = this.#unit(color);
    await this.#ignoreNotFound(() => this.#systemctl.stop(unit));
    if (existsSync(this.#file(color))) await this.#systemctl.disable(unit);
    const removed = await removeFileDurable(this.#file(color));
    if (removed) await this.#systemctl.daemonReload();
    // A unit that failed before it was removed would linger in memory as "not-found failed".
    if (isFailed(await this.#systemctl.show(unit))) await this.#systemctl.resetFailed(unit);
  }

  async start(color: Color): Promise<void> {
    await this.#resetFailed(color);
    await this.#mapNotFound(color, () => this.#systemctl.start(this.#unit(color)));
  }

  async stop(color: Color): Promise<void> {
    await this.#ignoreNotFound(() => this.#systemctl.stop(this.#unit(color)));
  }

  async restart(color: Color): Promise<void> {
    await this.#resetFailed(color);
    await this.#mapNotFound(color, () => this.#systemctl.restart(this.#unit(color)));
  }

  async observe(color: Color): Promise<UnitObservation> {
    const [show, text] = await Promise.all([this.#systemctl.show(this.#unit(color)), readIfExists(this.#file(color))]);
    const installed = text === null ? null : parseInstalledSpec(text);
    const { dropIns, ...state } = show;
    // Only drop-ins in the unit's own folder are hand edits we own and can remove; system-wide ones
    // (e.g. a distribution's /usr/lib/systemd/user/service.d/) would be "drift" forever.
    const ours = dropIns.filter((p) => p.startsWith(`${this.#file(color)}.d/`));
    return { color, ...state, installed, drift: this.#drift(text, installed) ?? describeDropIns(ours) };
  }

  /** Nothing to release: systemd keeps supervising the units. */
  async close(): Promise<void> {}

  /** A file whose body is not what its spec renders to was edited by hand: the next install rewrites it. */
  #drift(text: string | null, installed: UnitSpec | null): string | null {
    if (text === null || installed === null) return null;
    return renderUnit(installed, this.#appName) === text
      ? null
      : `${path.basename(this.#file(installed.color))} was edited by hand`;
  }

  async #removeDropIns(color: Color): Promise<boolean> {
    const dir = `${this.#file(color)}.d`;
    if (!existsSync(dir)) return false;
    await rm(dir, { recursive: true, force: true });
    return true;
  }

  #unit(color: Color): string {
    return unitName(this.#appName, color);
  }

  #file(color: Color): string {
    return path.join(this.unitDir, this.#unit(color));
  }

  async #needsReload(unit: string): Promise<boolean> {
    const show = await this.#systemctl.show(unit);
    return !isLoaded(show) || (await this.#systemctl.needsDaemonReload(unit));
  }

  /**
   * A deliberate start is not throttled by earlier crashes: reset-failed clears the failed state and
   * the start rate limit, without which a unit past StartLimitBurst refuses to start at all.
   */
  async #resetFailed(color: Color): Promise<void> {
    const unit = this.#unit(color);
    const show = await this.#systemctl.show(unit);
    if (isNotFound(show)) throw new NotFoundError(`unit ${unit} is not installed`);
    try {
      await this.#systemctl.resetFailed(unit);
    } catch (err) {
      // An inactive unit may have been unloaded (garbage-collected) right after `show`: then it has
      // no failed state and no rate limit to reset, and systemctl says "not loaded" (exit 1).
      if (!(err instanceof SystemctlError) || err.timedOut) throw err;
    }
  }

  async #mapNotFound(color: Color, call: () => Promise<unknown>): Promise<void> {
    try {
      await call();
    } catch (err) {
      if (err instanceof SystemctlError && err.exitCode === EXIT_UNIT_NOT_FOUND) {
        throw new NotFoundError(`unit ${this.#unit(color)} is not installed`);
      }
      throw err;
    }
  }

  async #ignoreNotFound(call: () => Promise<unknown>): Promise<void> {
    try {
      await call();
    } catch (err) {
      if (!(err instanceof SystemctlError && err.exitCode === EXIT_UNIT_NOT_FOUND)) throw err;
    }
  }
}

function describeDropIns(paths: string[]): string | null {
  return paths.length === 0 ? null : `drop-ins override the unit (systemctl edit): ${paths.join(', ')}`;
}

/** True when a user manager answers at `env` (its private socket exists and `systemctl --user` works). */
export async function isUserManagerReachable(
  env: SystemdUserEnv = defaultUserEnv(),
  timeoutMs = 5_000,
): Promise<boolean> {
  if (!existsSync(path.join(env.XDG_RUNTIME_DIR, 'systemd', 'private'))) return false;
  try {
    await new Systemctl({ env, timeoutMs }).run(['show', '-p', 'Version']);
    return true;
  } catch {
    return false;
  }
}
