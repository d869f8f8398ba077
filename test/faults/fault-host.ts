// A host for the fault suite: the real `hypervisor` binary as a child process (so a crash is a
// crash and its output is ours to read) with the process units driver, an embedded store and an
// admin socket in a scratch folder, and the real hyperctl beside it. A test stops and starts the
// daemon as an operator would, damages what it wants in between, and reads the outcome over real
// sockets. close() stops the daemon and any backend it started, and removes the scratch folder.
import path from 'node:path';
import { request, type Answer, type RequestOptions } from '../api-harness.js';
import { runBin, scratchDir, startDaemonProcess, type DaemonProcess, type Ran } from '../../harness/daemon-process.js';
import { removeProcessUnits, writeTestConfig } from '../harness/daemon-config.js';

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
  const config = await writeTestConfig({
    appName: `fault-${name}-${process.pid}-${++serial}`,
    dir,
    storePath: path.join(dir, 'state', 'hypervisor.db'),
    extra: (options.extraConfig ?? '').replaceAll('{dir}', dir),
  });
  await options.prepare?.(dir);
  const { path: configPath, storePath, root, publicUrl, socket } = config;
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
    call: (method, route, o) => request({ host: '127.0.0.1', port: config.ports.public }, method, route, o),
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
      await removeProcessUnits(config);
      await scratch.remove();
    },
  };
  return host;
}
