// Free loopback ports for tests, for listeners that bind later (a daemon's config, a unit's port).
// Not from bind(0): that hands out a port of the kernel's ephemeral range, the range every outgoing
// connection on the host takes its local port from, and an outgoing connection that took the port
// before our listener binds makes the listen fail with EADDRINUSE. On a machine where several test
// runs make tens of thousands of loopback connections that happened: a color's backend could not
// listen, systemd gave up on its unit, and a test failed. So ports come from below that range, and
// each one is reserved across the host's test processes by a lock file that holds our pid, so two
// runs at once never share one. The lock files go when this process exits.
import { randomInt } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pidExists } from '../common/proc-table.js';

const LOCK_DIR = path.join(tmpdir(), 'openhack-test-ports');
/** Above the well-known and registered ports most services use. */
const LOWEST = 10_000;
const ATTEMPTS = 500;

const reserved = new Set<number>();
process.once('exit', () => {
  for (const port of reserved) rmSync(lockFile(port), { force: true });
});

/** The first port the kernel hands to outgoing connections (Linux: /proc/sys/net/ipv4/ip_local_port_range). */
function ephemeralStart(): number {
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(first) && first > LOWEST + 1_000) return first;
  } catch {
    // Not Linux: the IANA range, which most other systems use.
  }
  return 49_152;
}

const HIGHEST = ephemeralStart() - 1;

export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt += 1) {
    const port = randomInt(LOWEST, HIGHEST + 1);
    if (reserved.has(port) || !reserve(port)) continue;
    if (await canListen(port)) return port;
    release(port);
  }
  throw new Error(`no free loopback port in ${LOWEST}-${HIGHEST} after ${ATTEMPTS} tries`);
}

/** `count` distinct free ports. */
export async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) ports.push(await freePort());
  return ports;
}

function lockFile(port: number): string {
  return path.join(LOCK_DIR, `${port}.lock`);
}

/** Takes the port's lock file, or a stale one whose process is gone; false when another process holds it. */
function reserve(port: number): boolean {
  mkdirSync(LOCK_DIR, { recursive: true });
  for (const retry of [false, true]) {
    try {
      const fd = openSync(lockFile(port), 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      reserved.add(port);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || retry || holderAlive(port)) return false;
      rmSync(lockFile(port), { force: true });
    }
  }
  return false;
}

function release(port: number): void {
  reserved.delete(port);
  rmSync(lockFile(port), { force: true });
}

function holderAlive(port: number): boolean {
  let text: string;
  try {
    text = readFileSync(lockFile(port), 'utf8').trim();
  } catch {
    return false; // gone meanwhile: free to take
  }
  if (text === '') return true; // created, its pid not written yet: its writer lives
  const pid = Number(text);
  return Number.isInteger(pid) && pid > 0 && pidExists(pid);
}

function canListen(port: number): Promise<boolean> {
  const server = net.createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
