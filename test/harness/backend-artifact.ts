// A tiny real backend executable for unit tests: a `#!/usr/bin/node` script that honours the
// backend contract (ARCHITECTURE.md): `--deployment --port --env-root --app-version`, `GET /ping`,
// `GET /version`. Written to `<dir>/<version>` like a BUILD output, so it runs as a real artifact.
// `GET /ready` answers 503 while a file `unready` exists in its env root: a test makes a running
// backend fail its readiness probe, and pass it again, without touching the process.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface BackendArtifact {
  /** The artifact folder (`<root>/artifacts/<tag>/` on a host). */
  dir: string;
  /** Absolute path of the executable, ready for `UnitSpec.executable`. */
  executable: string;
  version: string;
  remove(): Promise<void>;
}

export interface BackendArtifactOptions {
  version: string;
  /** Folder to write into (must exist); a fresh temp folder when omitted. */
  dir?: string;
}

// Plain CommonJS so it runs without any build step. It only ever listens on loopback.
const SCRIPT = `#!/usr/bin/node
'use strict';
const http = require('node:http');
const flags = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  if (!argv[i].startsWith('--') || argv[i + 1] === undefined) fail('bad arguments: ' + JSON.stringify(argv));
  flags[argv[i].slice(2)] = argv[i + 1];
}
for (const name of ['deployment', 'port', 'env-root', 'app-version']) if (!flags[name]) fail('missing --' + name);
const port = Number(flags.port);
if (!Number.isInteger(port) || port < 1 || port > 65535) fail('bad --port ' + flags.port);

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://backend');
  if (req.method === 'GET' && url.pathname === '/ping') return send(res, 200, 'text/plain', 'pong');
  if (req.method === 'GET' && url.pathname === '/version') return send(res, 200, 'text/plain', flags['app-version']);
  if (req.method === 'GET' && url.pathname === '/ready') {
    const unready = require('node:fs').existsSync(require('node:path').join(flags['env-root'], 'unready'));
    return send(res, unready ? 503 : 200, 'text/plain', unready ? 'not ready' : 'ready');
  }
  const echo = { version: flags['app-version'], deployment: flags.deployment, path: url.pathname, method: req.method };
  send(res, 200, 'application/json', JSON.stringify(echo));
});
server.listen(port, '127.0.0.1', () => {
  const what = 'backend ' + flags['app-version'] + ' (' + flags.deployment + ')';
  console.log(what + ' listening on 127.0.0.1:' + port + ' pid ' + process.pid);
});
server.on('error', (err) => fail(err.message));
// SIGUSR1 wedges the backend: it stops listening (and drops kept-alive connections) but runs on, so
// its unit stays active while its port refuses.
process.on('SIGUSR1', () => {
  server.close();
  server.closeAllConnections();
  setInterval(() => undefined, 60000); // without a listener, node would exit: a wedged backend does not
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    console.log('backend ' + flags['app-version'] + ' stopping on ' + signal);
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}

function send(res, status, type, body) {
  res.writeHead(status, { 'content-type': type + '; charset=utf-8' });
  res.end(body);
}
function fail(message) {
  console.error('backend: ' + message);
  process.exit(2);
}
`;

export async function writeBackendArtifact(options: BackendArtifactOptions): Promise<BackendArtifact> {
  if (!/^[A-Za-z0-9._-]+$/.test(options.version))
    throw new Error(`version must be a file name, got ${JSON.stringify(options.version)}`);
  const owned = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(path.join(tmpdir(), 'hv-artifact-')));
  const executable = path.join(dir, options.version);
  await writeFile(executable, SCRIPT, 'utf8');
  await chmod(executable, 0o755);
  return {
    dir,
    executable,
    version: options.version,
    remove: async () => {
      await rm(owned ? dir : executable, { recursive: true, force: true });
    },
  };
}
