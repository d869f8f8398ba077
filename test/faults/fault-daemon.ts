// The real `hypervisor` binary for fault tests: a child process (so a crash is a crash and its
// stderr is ours to read), the process units driver, the embedded store and the admin socket in a
// scratch folder. close() stops it, stops any backend it started and removes the folder.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ProcessDriver } from '../../units/process-driver.js';
import { request, type Answer, type RequestOptions } from '../api-harness.js';
import { scratchDir, startDaemonProcess, type DaemonProcess } from '../harness/daemon-process.js';
import { freePorts } from '../harness/ports.js';

export interface FaultDaemon {
  process: DaemonProcess;
  dir: string;
  url: string;
  /** A request on the public listener. */
  call<T = unknown>(method: string, route: string, options?: RequestOptions): Promise<Answer<T>>;
  /** A request on the admin socket (no token, every role). */
  admin<T = unknown>(method: string, route: string, options?: RequestOptions): Promise<Answer<T>>;
  /** True while the process runs and answers /healthz. */
  alive(): Promise<boolean>;
  close(): Promise<void>;
}

export interface FaultDaemonOptions {
  /** Extra top-level YAML for the config; `{dir}` is replaced by the scratch folder. */
  extraConfig?: string;
  /** Called with the scratch folder before the daemon starts (files the config names). */
  prepare?: (dir: string) => Promise<void>;
}

let serial = 0;

export async function startFaultDaemon(options: FaultDaemonOptions = {}): Promise<FaultDaemon> {
  const scratch = await scratchDir('hv-fault-');
  const [pub, blue, green] = await freePorts(3);
  const socket = path.join(scratch.dir, 'admin.sock');
  const appName = `fault-${process.pid}-${++serial}`;
  const root = path.join(scratch.dir, 'var');
  const config = path.join(scratch.dir, 'hypervisor.yaml');
  await writeFile(
    config,
    `
app:
  name: ${appName}
  repo: ${path.join(scratch.dir, 'no-repo')}
  run: { deployment: test }
  health: { interval: 300ms, timeout: 1s, failureThreshold: 3, startTimeout: 30s }
colors:
  blue: { port: ${blue} }
  green: { port: ${green} }
listen: { public: '127.0.0.1:${pub}', preview: false, admin: ${socket} }
root: ${root}
units: { driver: process }
store: { kind: embedded, path: ${path.join(scratch.dir, 'hypervisor.db')} }
reconcile: { interval: 300ms }
${(options.extraConfig ?? '').replaceAll('{dir}', scratch.dir)}`,
  );
  await options.prepare?.(scratch.dir);
  const url = `http://127.0.0.1:${pub}`;
  let child: DaemonProcess;
  try {
    child = await startDaemonProcess(config, {}, url);
  } catch (err) {
    await scratch.remove();
    throw err;
  }
  const daemon: FaultDaemon = {
    process: child,
    dir: scratch.dir,
    url,
    call: (method, route, o) => request({ host: '127.0.0.1', port: pub! }, method, route, o),
    admin: (method, route, o) => request({ socketPath: socket }, method, route, o),
    alive: async () =>
      child.child.exitCode === null &&
      (await daemon.call('GET', '/healthz').then(
        (answer) => answer.status === 200,
        () => false,
      )),
    close: async () => {
      await child.stop();
      const driver = new ProcessDriver({ appName, stateDir: path.join(root, 'run') });
      await Promise.all([driver.uninstall('blue'), driver.uninstall('green')]);
      await driver.close();
      await scratch.remove();
    },
  };
  return daemon;
}

/** A stack trace line as node prints one (`    at fn (file:line:col)`). */
export const STACK_LINE = /^\s+at .+(\(.*:\d+:\d+\)|:\d+:\d+)$/m;
