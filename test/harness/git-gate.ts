// A git remote that can be made to hang: a real `git daemon` serving a folder of repos, behind a
// TCP gate. While the gate holds, new connections are accepted and never answered (a remote that
// stalls mid-fetch); once released, new connections reach git daemon. Connections held stay held.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { freePort } from '../../harness/ports.js';
import { waitFor } from './wait.js';

export interface GitGate {
  /** `git://127.0.0.1:<gate>/<name>` for a repo folder `<base>/<name>`. */
  url(name: string): string;
  /** New connections are held from now on. */
  hold(): void;
  /** New connections reach git daemon from now on. */
  release(): void;
  /** Connections being held right now. */
  held(): number;
  close(): Promise<void>;
}

export async function startGitGate(base: string): Promise<GitGate> {
  const upstream = await freePort();
  const daemon = spawn(
    'git',
    ['daemon', '--reuseaddr', '--export-all', `--base-path=${base}`, '--listen=127.0.0.1', `--port=${upstream}`, base],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => daemon.once('exit', () => resolve()));
  try {
    await waitFor('git daemon to accept connections', () => connects(upstream), 10_000);
  } catch (err) {
    daemon.kill('SIGKILL');
    throw err;
  }
  return gate(daemon, exited, upstream);
}

async function gate(daemon: ChildProcess, exited: Promise<void>, upstream: number): Promise<GitGate> {
  let holding = false;
  const held = new Set<net.Socket>();
  const piped = new Set<net.Socket>();
  const server = net.createServer((client) => {
    client.on('error', () => undefined);
    if (holding) {
      held.add(client);
      client.once('close', () => held.delete(client));
      return;
    }
    const remote = net.connect(upstream, '127.0.0.1');
    remote.on('error', () => client.destroy());
    for (const socket of [client, remote]) {
      piped.add(socket);
      socket.once('close', () => piped.delete(socket));
    }
    client.pipe(remote).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: (name) => `git://127.0.0.1:${port}/${name}`,
    hold: () => void (holding = true),
    release: () => void (holding = false),
    held: () => held.size,
    close: async () => {
      for (const socket of [...held, ...piped]) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
      daemon.kill('SIGTERM');
      await exited;
    },
  };
}

function connects(port: number): Promise<true | null> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(null));
  });
}
