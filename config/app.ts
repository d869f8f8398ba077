// The app: section: the backend this host builds and runs (ARCHITECTURE.md, "The backend contract"):
// its repo and tag pattern, the BUILD and TEST steps, how a color runs it, and how its health is probed.
import path from 'node:path';
import { ValidationError } from '../common/errors.js';
import { describeValue } from '../common/describe.js';
import { DEFAULT_TAG_PATTERN } from '../common/git-names.js';
import { matching, type ObjectReader } from './reader.js';

export interface StepConfig {
  script: string;
  timeoutMs: number;
}

export interface HealthConfig {
  /** @default '/ping' */
  readyPath: string;
  /** @default '/version' */
  versionPath: string;
  /** @default 2s */
  intervalMs: number;
  /** @default 1s */
  timeoutMs: number;
  /** Consecutive failed probes before a Ready color counts as Degraded. @default 3 */
  failureThreshold: number;
  /** How long a started color may take to become Ready before it is Failed. @default 60s */
  startTimeoutMs: number;
}

export interface AppConfig {
  name: string;
  /** A git URL or a local path (resolved against the config file's folder). */
  repo: string;
  tagPattern: RegExp;
  build: StepConfig;
  test: StepConfig;
  run: { deployment: string; envRoot: string };
  health: HealthConfig;
}

const APP_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;
const SCRIPT_NAME = /^[A-Za-z0-9_.-]+$/;
const URL_PATH = /^\/[A-Za-z0-9/_.~-]*$/;

export function readApp(r: ObjectReader, resolve: (p: string) => string, root: string): AppConfig {
  const name = matching(r, 'name', APP_NAME);
  const repoRaw = r.string('repo');
  const repo = /^[a-z+]+:\/\/|^git@/.test(repoRaw) ? repoRaw : resolve(repoRaw);
  const app: AppConfig = {
    name,
    repo,
    tagPattern: readPattern(r, 'tagPattern'),
    build: readStep(r.child('build'), 'BUILD', '10m'),
    test: readStep(r.child('test'), 'TEST', '20m'),
    run: readRun(r.child('run'), resolve, root),
    health: readHealth(r.child('health')),
  };
  r.rejectUnknown();
  return app;
}

function readPattern(r: ObjectReader, key: string): RegExp {
  const source = r.string(key, DEFAULT_TAG_PATTERN);
  if (!source.startsWith('^') || !source.endsWith('$')) {
    throw new ValidationError(r.keyPath(key), `must be anchored with ^ and $, got ${describeValue(source)}`);
  }
  try {
    return new RegExp(source);
  } catch (err) {
    throw new ValidationError(
      r.keyPath(key),
      `is not a valid regular expression ${describeValue(source)}: ${(err as Error).message}`,
    );
  }
}

function readStep(r: ObjectReader, script: string, timeout: string): StepConfig {
  const step = { script: matching(r, 'script', SCRIPT_NAME, script), timeoutMs: r.durationMs('timeout', timeout) };
  r.rejectUnknown();
  return step;
}

function readRun(r: ObjectReader, resolve: (p: string) => string, root: string): AppConfig['run'] {
  const run = {
    deployment: matching(r, 'deployment', /^[A-Za-z0-9_-]+$/, 'prod'),
    envRoot: r.has('envRoot') ? resolve(r.string('envRoot')) : path.join(root, 'env'),
  };
  r.rejectUnknown();
  return run;
}

function readHealth(r: ObjectReader): HealthConfig {
  const health: HealthConfig = {
    readyPath: matching(r, 'readyPath', URL_PATH, '/ping'),
    versionPath: matching(r, 'versionPath', URL_PATH, '/version'),
    intervalMs: r.durationMs('interval', '2s'),
    timeoutMs: r.durationMs('timeout', '1s'),
    failureThreshold: r.integer('failureThreshold', 3, 1, 100),
    startTimeoutMs: r.durationMs('startTimeout', '60s'),
  };
  r.rejectUnknown();
  return health;
}
