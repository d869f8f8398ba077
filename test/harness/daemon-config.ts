// The hypervisor.yaml a test host runs with, in one place: loopback listeners on free ports, the
// admin socket, root and store in the scratch folder, and health and reconcile intervals short
// enough for tests. A test names what it varies (repo, driver, preview, script timeouts, store
// path) and appends any other top-level YAML (proxy, desired, github, policy, auth).
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ProcessDriver } from '../../units/process-driver.js';
import { freePorts } from '../../harness/ports.js';

export interface TestConfigOptions {
  appName: string;
  /** The scratch folder: the config file, root (`var/`), store and admin socket go in it. */
  dir: string;
  /** The backend repository. @default `<dir>/no-repo` (a host that builds nothing) */
  repo?: string;
  /** @default 'process' */
  driver?: 'process' | 'systemd';
  /** A preview listener on a free port too. @default false */
  preview?: boolean;
  /** `app.build.timeout` and `app.test.timeout` (e.g. '2m'); the config's defaults when omitted. */
  scriptTimeouts?: { build: string; test: string };
  /** `app.health.timeout`, the bound of one probe. @default '1s' */
  healthTimeout?: string;
  /** @default `<dir>/hypervisor.db` */
  storePath?: string;
  /**
   * `app.health.interval` and `reconcile.interval`. A test that runs each pass itself (POST
   * /reconcile) sets both long, so no pass runs that it did not ask for. @default 300ms each
   */
  intervals?: { health: string; reconcile: string };
  /** `app.run.envRoot`. @default `<root>/env` */
  envRoot?: string;
  /** Other top-level YAML, appended as is. */
  extra?: string;
}

export interface TestConfig {
  /** The config file written. */
  path: string;
  text: string;
  appName: string;
  socket: string;
  root: string;
  storePath: string;
  ports: { public: number; blue: number; green: number; preview: number | null };
  publicUrl: string;
  previewUrl: string | null;
}

/** Writes `<dir>/hypervisor.yaml` with fresh free ports. */
export async function writeTestConfig(options: TestConfigOptions): Promise<TestConfig> {
  const { dir, appName } = options;
  const [pub, blue, green, preview] = await freePorts(options.preview ? 4 : 3);
  const socket = path.join(dir, 'admin.sock');
  const root = path.join(dir, 'var');
  const storePath = options.storePath ?? path.join(dir, 'hypervisor.db');
  const scripts = options.scriptTimeouts;
  const intervals = options.intervals ?? { health: '300ms', reconcile: '300ms' };
  const health = { timeout: options.healthTimeout ?? '1s' };
  const text = `app:
  name: ${appName}
  repo: ${options.repo ?? path.join(dir, 'no-repo')}
${scripts ? `  build: { script: BUILD, timeout: ${scripts.build} }\n` : ''}\
${scripts ? `  test: { script: TEST, timeout: ${scripts.test} }\n` : ''}\
  run: { deployment: test${options.envRoot ? `, envRoot: ${options.envRoot}` : ''} }
  health: { interval: ${intervals.health}, timeout: ${health.timeout}, failureThreshold: 3, startTimeout: 30s }
colors:
  blue: { port: ${blue} }
  green: { port: ${green} }
listen: { public: '127.0.0.1:${pub}', preview: ${preview ? `'127.0.0.1:${preview}'` : 'false'}, admin: ${socket} }
root: ${root}
units: { driver: ${options.driver ?? 'process'} }
store: { kind: embedded, path: ${storePath} }
reconcile: { interval: ${intervals.reconcile} }
${options.extra ?? ''}
`;
  const file = path.join(dir, 'hypervisor.yaml');
  await writeFile(file, text);
  return {
    path: file,
    text,
    appName,
    socket,
    root,
    storePath,
    ports: { public: pub!, blue: blue!, green: green!, preview: preview ?? null },
    publicUrl: `http://127.0.0.1:${pub}`,
    previewUrl: preview ? `http://127.0.0.1:${preview}` : null,
  };
}

/** Stops and removes the backends a process-driver host started: they outlive its daemon, as in production. */
export async function removeProcessUnits(config: Pick<TestConfig, 'appName' | 'root'>): Promise<void> {
  const driver = new ProcessDriver({ appName: config.appName, stateDir: path.join(config.root, 'run') });
  try {
    await Promise.all([driver.uninstall('blue'), driver.uninstall('green')]);
  } finally {
    await driver.close();
  }
}
