// A host for the fault suite: the real `hypervisor` binary with the process units driver, an
// embedded store and an admin socket in a scratch folder, and the real hyperctl beside it. A test
// stops and starts the daemon as an operator would, damages what it wants in between, and reads
// the outcome over real sockets. close() stops the daemon and removes the scratch folder.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { request, type Answer, type RequestOptions } from '../api-harness.js';
import {
  binPath,
  runBin,
  scratchDir,
  startDaemonProcess,
  type DaemonProcess,
  type Ran,
} from '../harness/daemon-process.js';
import { freePorts } from '../harness/ports.js';
import { spawn } from 'node:child_process';

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
  call<T = unknown>(method: string, route: string, options?: RequestOptions): Promise<Answer<T>>;
  admin<T = unknown>(method: string, route: string, options?: RequestOptions): Promise<Answer<T>>;
  hyperctl(args: string[], input?: string): Promise<Ran>;
  output(): string;
  close(): Promise<void>;
}

export async function newFaultHost(name: string, extraConfig = ''): Promise<FaultHost> {
  const scratch = await scratchDir(`hv-fault-${name}-`);
  const [pub, blue, green] = await freePorts(3);
  const dir = scratch.dir;
  const socket = path.join(dir, 'admin.sock');
  const configPath = path.join(dir, 'hypervisor.yaml');
  const storePath = path.join(dir, 'state', 'hypervisor.db');
  const root = path.join(dir, 'var');
  await writeFile(
    configPath,
    `app:
  name: fault-${name}-${process.pid}
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
${extraConfig}`,
  );
  const publicUrl = `http://127.0.0.1:${pub}`;
  const env = { ...process.env, HYPERVISOR_CONFIG: undefined, NO_COLOR: '1' };
  let daemon: DaemonProcess | null = null;
  const stop = async (): Promise<void> => {
    await daemon?.stop();
    daemon = null;
  };
  return {
    dir,
    configPath,
    storePath,
    root,
    publicUrl,
    start: async () => {
      daemon = await startDaemonProcess(configPath, env, publicUrl);
    },
    stop,
    startRefused: () => runDaemonToExit(configPath, env),
    call: (method, route, options) => request({ host: '127.0.0.1', port: pub! }, method, route, options),
    admin: (method, route, options) => request({ socketPath: socket }, method, route, options),
    hyperctl: (args, input) => runBin('hyperctl', [...args, '--config', configPath], env, input),
    output: () => daemon?.output() ?? '',
    close: async () => {
      await stop();
      await scratch.remove();
    },
  };
}

/** A daemon that must refuse to start: it exits by itself within the deadline, or the test fails. */
function runDaemonToExit(configPath: string, env: NodeJS.ProcessEnv, timeoutMs = 20_000): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [binPath('hypervisor'), '--config', configPath], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (signal) reject(new Error(`the daemon did not refuse to start; it ran until ${signal}:\n${stdout}${stderr}`));
      else resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}
