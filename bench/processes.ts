// The benchmark's moving parts as child processes: our roles (bench/child.ts) and nginx with a
// private prefix, config and pid file on loopback only. Every start has a deadline and every
// process started here is stopped by its own handle, never by name.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { freePort } from '../harness/ports.js';
import { tmpdir } from 'node:os';
import path from 'node:path';

const START_DEADLINE_MS = 10_000;
const STOP_DEADLINE_MS = 5_000;

export class BenchSetupError extends Error {}

export interface Running {
  readonly name: string;
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

/** Clock ticks per second of /proc's CPU times; 100 on every Linux this runs on (getconf CLK_TCK). */
const CLOCK_TICKS = 100;

/**
 * CPU time (user + system) used so far by `pid` and its child processes (nginx's workers), in ms.
 * Unlike requests/s, CPU per request hardly depends on what else runs on the machine.
 */
export async function cpuMs(pid: number): Promise<number> {
  const children = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  const pids = [pid, ...children.split(' ').filter(Boolean).map(Number)];
  let ticks = 0;
  for (const p of pids) {
    const stat = await readFile(`/proc/${p}/stat`, 'utf8');
    // Fields after the command (which may hold spaces) start at field 3; utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return (ticks * 1000) / CLOCK_TICKS;
}

/** `name` in PATH or an sbin folder, when it exists and is executable; else null. */
export function findExecutable(name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const dir of dirs) {
    const file = path.join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not in this folder
    }
  }
  return null;
}

/** Starts `node child.js <role> ...args` and waits for its `ready <port>` line. */
export async function startRole(name: string, args: string[]): Promise<Running> {
  const script = new URL('./child.js', import.meta.url).pathname;
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await readyPort(child, name);
  return { name, port, pid: child.pid as number, stop: () => stopChild(child, 'SIGTERM') };
}

function readyPort(child: ChildProcess, name: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () => fail(new BenchSetupError(`${name} did not start within ${START_DEADLINE_MS}ms`)),
      START_DEADLINE_MS,
    );
    const fail = (err: Error): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(err);
    };
    child.once('exit', (code) => fail(new BenchSetupError(`${name} exited with ${String(code)} before it was ready`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const match = /^ready (\d+)$/m.exec(out);
      if (!match) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve(Number(match[1]));
    });
  });
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_DEADLINE_MS);
  await exited;
  clearTimeout(timer);
}

/**
 * nginx as a reverse proxy to `backendPort`, configured like ours: HTTP/1.1 keep-alive upstream
 * connections, the client's address and a request id added, no access log.
 */
export async function startNginx(nginx: string, backendPort: number, workers: number): Promise<Running> {
  const prefix = await mkdtemp(path.join(tmpdir(), 'bench-nginx-'));
  // Workers drop to an unprivileged user when we are root; they only need to read the prefix.
  await chmod(prefix, 0o755);
  const port = await freePort();
  await writeFile(path.join(prefix, 'nginx.conf'), nginxConfig(prefix, port, backendPort, workers));
  const child = spawn(
    nginx,
    ['-p', prefix, '-c', path.join(prefix, 'nginx.conf'), '-e', path.join(prefix, 'error.log')],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  try {
    await waitForPort(port, child, 'nginx');
  } catch (err) {
    await stopChild(child, 'SIGKILL');
    const log = await readFile(path.join(prefix, 'error.log'), 'utf8').catch(() => '');
    await rm(prefix, { recursive: true, force: true });
    throw new BenchSetupError(`${(err as Error).message}\n${log}`);
  }
  return {
    name: 'nginx',
    port,
    pid: child.pid as number,
    stop: async () => {
      // SIGQUIT: graceful stop of master and workers (SIGTERM would be a fast stop, also fine).
      await stopChild(child, 'SIGQUIT');
      await rm(prefix, { recursive: true, force: true });
    },
  };
}

function nginxConfig(prefix: string, port: number, backendPort: number, workers: number): string {
  const temp = (name: string): string => `${name}_temp_path ${path.join(prefix, name)};`;
  return `daemon off;
worker_processes ${workers};
pid ${path.join(prefix, 'nginx.pid')};
error_log ${path.join(prefix, 'error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
  ${temp('client_body')} ${temp('proxy')} ${temp('fastcgi')} ${temp('uwsgi')} ${temp('scgi')}
  upstream backend { server 127.0.0.1:${backendPort}; keepalive 512; }
  server {
    listen 127.0.0.1:${port} reuseport;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Request-Id $request_id;
    }
  }
}
`;
}

async function waitForPort(port: number, child: ChildProcess, name: string): Promise<void> {
  const deadline = Date.now() + START_DEADLINE_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new BenchSetupError(`${name} exited with ${child.exitCode}`);
    if (await canConnect(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new BenchSetupError(`${name} did not listen on 127.0.0.1:${port} within ${START_DEADLINE_MS}ms`);
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Resident set size of a process in KiB, from /proc (Linux). */
export async function rssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!match) throw new BenchSetupError(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]);
}
