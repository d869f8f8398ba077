// A host for the fault suite: the real `hypervisor` binary as a child process (so a crash is a
// crash and its output is ours to read) with the process units driver, an embedded store and an
// admin socket in a scratch folder, and the real hyperctl beside it. A test stops and starts the
// daemon as an operator would, damages what it wants in between, and reads the outcome over real
// sockets. close() stops the daemon and any backend it started, and removes the scratch folder.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ProcessDriver } from '../../units/process-driver.js';
import { request, type Answer, type RequestOptions } from '../api-harness.js';
import { runBin, scratchDir, startDaemonProcess, type DaemonProcess, type Ran } from '../harness/daemon-process.js';
import { freePorts } from '../harness/ports.js';

export interface FaultHost {
  dir: string;
  configPath: string;
  storePath: string;
  root: string;
  publicUrl: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Runs the daemon until it exits by itself (a refused start): its exit code and all it printed. */
  startRefused(): Promise<Ran>;
  /** A request on the public listener. */
  call<T = unknown>(method: string, route: string, options?: RequestOptions): Promise<Answer<T>>;
  /** A request on the admin socket (no token, every role). */
  admin<T = unknown>(method: string, route: string, options?: RequestOptions): Promise<Answer<T>>;
  hyperctl(args: string[], input?: string): Promise<Ran>;
  /** All the running daemon printed (stdout and stderr); empty while none runs. */
  output(): string;
  /** True while the daemon runs and answers /healthz. */
  alive(): Promise<boolean>;
  close(): Promise<void>;
}

export interface FaultHostOptions {
  /** Extra top-level YAML for the config; `{dir}` is replaced by the scratch folder. */
  extraConfig?: string;
  /** Called with the scratch folder before the daemon first starts (files the config names). */
  prepare?: (dir: string) => Promise<void>;
}

/** A stack trace line as node prints one (`    at fn (file:line:col)`). */
export const STACK_LINE = /^\s+at .+(\(.*:\d+:\d+\)|:\d+:\d+)$/m;

let serial = 0;

/** A host with its daemon running; closed again if the daemon does not come up. */
export async function startFaultHost(name: string, options: FaultHostOptions = {}): Promise<FaultHost> {
  const host = await newFaultHost(name, options);
  try {
    await host.start();
  } catch (err) {
    await host.close();
    throw err;
  }
  return host;
}

/** A host whose daemon is not started yet. */
export async function newFaultHost(name: string, options: FaultHostOptions = {}): Promise<FaultHost> {
  const scratch = await scratchDir(`hv-fault-${name}-`);
  const dir = scratch.dir;
  const [pub, blue, green] = await freePorts(3);
  const appName = `fault-${name}-${process.pid}-${++serial}`;
  const socket = path.join(dir, 'admin.sock');
  const configPath = path.join(dir, 'hypervisor.yaml');
  const storePath = path.join(dir, 'state', 'hypervisor.db');
  const root = path.join(dir, 'var');
  await writeFile(
    configPath,
    `app:
  name: ${appName}
  repo: ${path.join(dir, 'no-repo')}
  run: { deployment: test }
  health: { interval: 300ms, timeout: 1s, failureThreshold: 3, startTimeout: 30s }
colors:
  blue: { port: ${blue} }
  green: { port: ${green} }
listen: { public: '127.0.0.1:${pub}', preview: false, admin: ${socket} }
root: ${root}
units: { driver: process }
store: { kind: embedded, path: ${storePath} }
reconcile: { interval: 300ms }
${(options.extraConfig ?? '').replaceAll('{dir}', dir)}
`,
  );
  await options.prepare?.(dir);
  const publicUrl = `http://127.0.0.1:${pub}`;
  const env = { ...process.env, HYPERVISOR_CONFIG: undefined, NO_COLOR: '1' };
  let daemon: DaemonProcess | null = null;
  const stop = async (): Promise<void> => {
    await daemon?.stop();
    daemon = null;
  };
  const host: FaultHost = {
    dir,
    configPath,
    storePath,
    root,
    publicUrl,
    start: async () => {
      daemon = await startDaemonProcess(configPath, env, publicUrl);
    },
    stop,
    startRefused: async () => {
      const ran = await runBin('hypervisor', ['--config', configPath], env, '', 20_000);
      if (ran.signal)
        throw new Error(`the daemon did not refuse to start; it ran until ${ran.signal}:\n${ran.stdout}${ran.stderr}`);
      return ran;
    },
    call: (method, route, o) => request({ host: '127.0.0.1', port: pub! }, method, route, o),
    admin: (method, route, o) => request({ socketPath: socket }, method, route, o),
    hyperctl: (args, input) => runBin('hyperctl', [...args, '--config', configPath], env, input),
    output: () => daemon?.output() ?? '',
    alive: async () =>
      daemon !== null &&
      daemon.child.exitCode === null &&
      (await host.call('GET', '/healthz').then(
        (answer) => answer.status === 200,
        () => false,
      )),
    close: async () => {
      await stop();
      // Backends run on after the daemon, as in production: a test host stops them itself.
      const driver = new ProcessDriver({ appName, stateDir: path.join(root, 'run') });
      await Promise.all([driver.uninstall('blue'), driver.uninstall('green')]);
      await driver.close();
      await scratch.remove();
    },
  };
  return host;
}
