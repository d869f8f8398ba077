// The pipeline's options, checked once when it is built: a bad value is named with its key.
import path from 'node:path';
import { NO_ARCHIVE, type StepLogSink } from '../../common/archive.js';
import { environSweep, type Containment } from '../../common/containment.js';
import { ValidationError } from '../../common/errors.js';
import type { StepConfig } from '../../config/config.js';
import type { Store } from '../../store/store.js';
import { DEFAULT_LOG_CAP_BYTES } from './capped-log.js';

export interface ReleasePipelineOptions {
  /** The backend repository: a git URL or a local path. */
  repo: string;
  /** Absolute; holds repos/<tag>, artifacts/<tag>/ and logs/<tag>/. */
  root: string;
  appBuild: StepConfig;
  appTest: StepConfig;
  /** Absolute; passed to TEST as --env-root. */
  envRoot: string;
  tagPattern: RegExp;
  store: Store;
  /** Deadline of each git call (ls-remote, clone, reads). @default 300_000 (5 min) */
  gitTimeoutMs?: number;
  /** Time between SIGTERM and SIGKILL when a step's process group is stopped. @default 5_000 */
  killGraceMs?: number;
  /** Size limit of each step log; the rest is dropped behind a marker line. @default 5 MiB */
  logCapBytes?: number;
  /**
   * Where BUILD and TEST run, so that processes that leave their group end with them: a systemd
   * scope (units/step-scope.ts) with the systemd driver. @default environSweep
   */
  containment?: Containment;
  /** Told when each step's log is complete (the log archive). @default NO_ARCHIVE (told nothing) */
  stepLogs?: StepLogSink;
}

export type PipelineSettings = Required<ReleasePipelineOptions>;

/** The largest delay setTimeout honours. */
const MAX_TIMER_MS = 2_147_483_647;
/** Run as `./<script>` inside the checkout: one path segment that cannot look like an option. */
const SCRIPT = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$/;

export function validateOptions(o: ReleasePipelineOptions): PipelineSettings {
  if (typeof o.store?.updateRelease !== 'function') throw new ValidationError('store', 'must be a Store');
  return {
    repo: requireRepo(o.repo),
    root: requireAbsolute('root', o.root),
    appBuild: requireStep('appBuild', o.appBuild),
    appTest: requireStep('appTest', o.appTest),
    envRoot: requireAbsolute('envRoot', o.envRoot),
    tagPattern: requirePattern(o.tagPattern),
    store: o.store,
    gitTimeoutMs: requireCount('gitTimeoutMs', o.gitTimeoutMs ?? 300_000, MAX_TIMER_MS),
    killGraceMs: requireCount('killGraceMs', o.killGraceMs ?? 5_000, MAX_TIMER_MS),
    logCapBytes: requireCount('logCapBytes', o.logCapBytes ?? DEFAULT_LOG_CAP_BYTES, 2 ** 40),
    containment: requireContainment(o.containment ?? environSweep),
    stepLogs: o.stepLogs ?? NO_ARCHIVE,
  };
}

function requireAbsolute(key: string, value: unknown): string {
  if (typeof value !== 'string' || !path.isAbsolute(value)) {
    throw new ValidationError(key, `must be an absolute path, got ${JSON.stringify(value)}`);
  }
  return path.normalize(value);
}

function requireRepo(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '' || value.startsWith('-')) {
    throw new ValidationError('repo', `must be a git URL or a path, got ${JSON.stringify(value)}`);
  }
  return value;
}

function requireCount(key: string, value: unknown, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0 || value > max) {
    throw new ValidationError(key, `must be a whole number from 1 to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function requireStep(key: string, value: StepConfig | undefined): StepConfig {
  if (!value || typeof value.script !== 'string' || !SCRIPT.test(value.script) || value.script.includes('..')) {
    throw new ValidationError(
      `${key}.script`,
      `must be a file name like BUILD or TEST.sh, got ${JSON.stringify(value?.script)}`,
    );
  }
  return { script: value.script, timeoutMs: requireCount(`${key}.timeoutMs`, value.timeoutMs, MAX_TIMER_MS) };
}

function requireContainment(value: Containment): Containment {
  if (typeof value?.enclose !== 'function' || typeof value.end !== 'function') {
    throw new ValidationError('containment', `must be a Containment, got ${String(value)}`);
  }
  return value;
}

function requirePattern(value: unknown): RegExp {
  if (!(value instanceof RegExp)) throw new ValidationError('tagPattern', `must be a RegExp, got ${String(value)}`);
  return value;
}
