// Whether this process could listen on host:port right now: binds exclusively and closes at once.
// Used to explain a taken port before something else fails on it (doctor, the demo).
import net from 'node:net';

/** null when the port is free; otherwise the error code (EADDRINUSE, EACCES, ...). */
export function tryListen(host: string, port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(null)));
  });
}
