#!/usr/bin/env node
// The example backend. It runs as
//   <exe> --deployment <profile> --port <port> --env-root <path> --app-version <version>
// and serves GET /ping, GET /version and GET /. BUILD turns this file into the release executable.
// Fault mode, for trying the hypervisor's verification: while <env-root>/fault-<version> holds an
// HTTP status (e.g. 500), every path but /ping and /version answers it, so the build stays Ready.
'use strict';

const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

// BUILD replaces this line with the version it builds, so the artifact never needs the VERSION file.
const BUILT_VERSION = null;

const VERSION_PATTERN = /^\d{2}\.\d{2}\.\d{2}\.\d+$/;
const FLAGS = ['--deployment', '--port', '--env-root', '--app-version'];
const USAGE = 'usage: server --deployment <profile> --port <port> --env-root <path> --app-version <version>';
const SHUTDOWN_GRACE_MS = 5000;
/** How long a look at the fault file is trusted: the file can be written while the server runs. */
const FAULT_CHECK_MS = 200;

class UsageError extends Error {}

function parseArgs(argv) {
  const values = {};
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (!FLAGS.includes(flag)) throw new UsageError(`unknown argument ${JSON.stringify(flag)}`);
    if (value === undefined || value.startsWith('--')) throw new UsageError(`${flag} needs a value`);
    if (flag in values) throw new UsageError(`${flag} given twice`);
    values[flag] = value;
  }
  for (const flag of FLAGS) {
    if (!(flag in values)) throw new UsageError(`missing ${flag}`);
  }
  return validate(values);
}

function validate(values) {
  const deployment = values['--deployment'];
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(deployment)) throw new UsageError(`--deployment must match [A-Za-z0-9_-]{1,64}, got ${JSON.stringify(deployment)}`);
  const port = Number(values['--port']);
  // Port 0 lets the kernel pick one; TEST uses that and reads the port from the first log line.
  if (!/^\d{1,5}$/.test(values['--port']) || port > 65535) throw new UsageError(`--port must be 0-65535, got ${JSON.stringify(values['--port'])}`);
  const envRoot = values['--env-root'];
  if (envRoot.trim() === '') throw new UsageError('--env-root must not be empty');
  const version = values['--app-version'];
  if (!VERSION_PATTERN.test(version)) throw new UsageError(`--app-version must look like YY.MM.DD.B, got ${JSON.stringify(version)}`);
  return { deployment, port, envRoot: path.resolve(envRoot), version };
}

/** The version this code is: baked in by BUILD, or read from VERSION beside the source. */
function ownVersion() {
  if (BUILT_VERSION !== null) return BUILT_VERSION;
  return fs.readFileSync(path.join(__dirname, 'VERSION'), 'utf8').trim();
}

/** KEY=VALUE lines; blank lines and # comments ignored; one pair of surrounding quotes stripped. */
function readDotEnv(envRoot) {
  let text;
  try {
    text = fs.readFileSync(path.join(envRoot, '.env'), 'utf8');
  } catch (err) {
    if (err.code === 'ENOENT') return {};
    throw err;
  }
  const env = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!match || line.trim().startsWith('#')) continue;
    env[match[1]] = match[2].replace(/^(['"])(.*)\1$/, '$2');
  }
  return env;
}

/** The color is not a flag of the contract: a unit may say it in COLOR, else the default ports tell. */
function colorOf(port) {
  if (process.env.COLOR === 'blue' || process.env.COLOR === 'green') return process.env.COLOR;
  return { 8001: 'blue', 8002: 'green' }[port] ?? null;
}

/** The status <env-root>/fault-<version> asks every ordinary path to answer, or null; looked at every FAULT_CHECK_MS. */
function faultOf(settings) {
  const file = path.join(settings.envRoot, `fault-${settings.version}`);
  let seen = { at: 0, status: null };
  return () => {
    const now = Date.now();
    if (now - seen.at < FAULT_CHECK_MS) return seen.status;
    let status = null;
    try {
      const value = Number(fs.readFileSync(file, 'utf8').trim());
      if (Number.isInteger(value) && value >= 400 && value <= 599) status = value;
    } catch {
      // No file (or unreadable): no fault.
    }
    seen = { at: now, status };
    return status;
  };
}

function handler(settings) {
  const fault = faultOf(settings);
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'method not allowed\n');
    if (url.pathname === '/ping') return send(res, 200, 'text/plain', 'pong');
    if (url.pathname === '/version') return send(res, 200, 'text/plain', settings.version);
    const status = fault();
    if (status !== null) return send(res, status, 'text/plain', `fault mode: ${status}\n`);
    if (url.pathname === '/') return send(res, 200, 'application/json', `${JSON.stringify(hello(settings, req))}\n`);
    return send(res, 404, 'text/plain', 'not found\n');
  };
}

function hello(settings, req) {
  const port = req.socket.localPort;
  return {
    greeting: settings.greeting,
    version: settings.version,
    deployment: settings.deployment,
    port,
    color: colorOf(port),
  };
}

function send(res, status, type, body) {
  res.writeHead(status, { 'content-type': `${type}; charset=utf-8`, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Stop accepting, let requests in flight finish, and exit 0; a stuck client cannot hold us past the grace. */
function shutdownOn(server, signalName) {
  process.once(signalName, () => {
    console.log(`${signalName}: shutting down`);
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    setTimeout(() => {
      server.closeAllConnections();
      process.exit(0);
    }, SHUTDOWN_GRACE_MS).unref();
  });
}

function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`server: ${err.message}\n${USAGE}`);
    process.exit(2);
  }
  const version = ownVersion();
  if (args.version !== version) {
    // /version must prove which build runs, so a launcher that expects another version is refused.
    console.error(`server: --app-version ${args.version} does not match this build (${version})`);
    process.exit(2);
  }
  const env = readDotEnv(args.envRoot);
  const settings = { ...args, greeting: env.GREETING ?? 'Hello from the openhack example backend' };
  const server = http.createServer(handler(settings));
  server.on('error', (err) => {
    console.error(`server: cannot listen on port ${args.port}: ${err.message}`);
    process.exit(1);
  });
  server.listen(args.port, '127.0.0.1', () => {
    console.log(`listening on http://127.0.0.1:${server.address().port} version=${version} deployment=${args.deployment}`);
  });
  shutdownOn(server, 'SIGTERM');
  shutdownOn(server, 'SIGINT');
}

main();
