// The daemon's configuration (ARCHITECTURE.md, "The config file"): types, defaults and validation.
// Every key is checked once at start; a bad key or value throws a ValidationError naming both.
import path from 'node:path';
import YAML from 'yaml';
import { ValidationError } from '../common/errors.js';
import { COLORS, type Color } from '../common/types.js';
import { readCappedFileSync } from '../common/capped-read.js';
import { describeValue } from '../common/describe.js';
import { FILE_CAPS, FileTooLargeError } from '../common/limits.js';
import { checkYamlNesting } from '../common/nesting.js';
import { readApp, type AppConfig } from './app.js';
import { readArchive, type ArchiveConfig } from './archive.js';
import { readAuth, type AuthConfig } from './auth.js';
import { readDisk, type DiskConfig } from './disk.js';
import { readGates, type GatesConfig } from './gates.js';
import { readNotify, type NotifyTarget } from './notify.js';
import { readProxy, type ProxyConfig } from './proxy.js';
import { matching, ObjectReader } from './reader.js';

// The sections with files of their own; their types are the config's too, so importers keep one path.
export type { AppConfig, HealthConfig, StepConfig } from './app.js';
export type { AuthConfig } from './auth.js';
export type { ProxyConfig } from './proxy.js';

export interface HostPort {
  host: string;
  port: number;
}

export type StoreConfig = { kind: 'embedded'; path: string } | { kind: 'mongodb'; uri: string; database: string };

export interface GitSourceConfig {
  url: string;
  branch: string;
  path: string;
  intervalMs: number;
  /** `owner/name` on GitHub: a push webhook for it makes the hypervisor pull at once. */
  repository: string | null;
}

export interface GithubConfig {
  /** `owner/name`; deliveries about any other repository are refused (403). Required with secretFile. */
  repository: string | null;
  /** The webhook secret (HMAC-SHA256 key); without it the webhook route answers 503. */
  secretFile: string | null;
  /** Larger webhook bodies are refused (413) before they are read whole. @default 1 MiB */
  maxBodyBytes: number;
}

export interface PolicyConfig {
  /** Stage a webhook release that built and tested onto the inactive color. @default true */
  autoStage: boolean;
  /** Then switch traffic to it once it is Ready (and stayed Ready for promoteDelay). @default false */
  autoPromote: boolean;
  /** @default 0s */
  promoteDelayMs: number;
  /** Checkouts and artifacts of this many newest releases are kept (plus any a color needs). @default 5 */
  keepReleases: number;
}

export interface Config {
  app: AppConfig;
  colors: Record<Color, { port: number }>;
  listen: {
    public: HostPort;
    preview: HostPort | null;
    admin: string | null;
    /** HTTPS on the public listener: PEM files, reloaded when they change. @default null (plain HTTP) */
    tls: { cert: string; key: string } | null;
  };
  root: string;
  units: { driver: 'systemd' | 'process' };
  store: StoreConfig;
  desired: { file: string | null; git: GitSourceConfig | null };
  github: GithubConfig;
  policy: PolicyConfig;
  /** The promotion gates (config/gates.ts). @default every gate off */
  gates: GatesConfig;
  /** How often a pass runs without any trigger. @default 5s */
  reconcile: { intervalMs: number };
  proxy: ProxyConfig;
  auth: AuthConfig;
  /** Where notifications go (config/notify.ts). @default [] */
  notify: NotifyTarget[];
  /** Logs, deliveries and the ledger in object storage (config/archive.ts). @default null (none) */
  archive: ArchiveConfig | null;
  /** When free space where the daemon writes counts as low (a status problem). @default 1 GiB or 5% */
  disk: DiskConfig;
  /** An extra listener serving only GET /hypervisor/metrics (and /metrics), without auth. @default null */
  metrics: { listen: HostPort | null };
}

/** Reads and validates a config file; relative paths in it are resolved against its folder. */
export function loadConfig(file: string): Config {
  let text: string;
  try {
    text = readCappedFileSync(file, FILE_CAPS.config, 'config file').toString('utf8');
  } catch (err) {
    if (err instanceof FileTooLargeError) throw err;
    throw new ValidationError('', `cannot read config file ${file}: ${(err as Error).message}`);
  }
  try {
    return parseConfig(text, path.dirname(path.resolve(file)));
  } catch (err) {
    // Which file: the daemon, setup and doctor may each have been pointed at another one.
    if (err instanceof ValidationError) throw new ValidationError('', `config ${file}: ${err.message}`);
    throw err;
  }
}

export function parseConfig(text: string, baseDir: string): Config {
  checkYamlNesting(text, 'config');
  const parsed = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (parsed.errors.length > 0) {
    throw new ValidationError('', `config is not valid YAML: ${parsed.errors[0]!.message}`);
  }
  return validateConfig(parsed.toJS(), baseDir);
}

export function validateConfig(value: unknown, baseDir: string): Config {
  const top = new ObjectReader(value, '');
  const resolve = (p: string): string => path.resolve(baseDir, p);
  const root = resolve(top.string('root', '/var/openhack'));
  const config: Config = {
    app: readApp(top.child('app'), resolve, root),
    colors: readColors(top.child('colors')),
    listen: readListen(top.child('listen'), resolve),
    root,
    units: readUnits(top.child('units')),
    store: readStore(top.child('store'), resolve),
    desired: readDesired(top.child('desired'), resolve),
    github: readGithub(top.child('github'), resolve),
    policy: readPolicy(top.child('policy')),
    gates: readGates(top.child('gates')),
    reconcile: readReconcile(top.child('reconcile')),
    proxy: readProxy(top.child('proxy')),
    auth: readAuth(top.child('auth'), resolve, root),
    notify: readNotify(top.raw('notify'), resolve),
    archive: top.has('archive') ? readArchive(top.child('archive'), resolve) : (top.raw('archive'), null),
    disk: readDisk(top.child('disk')),
    metrics: readMetrics(top.child('metrics')),
  };
  top.rejectUnknown();
  checkPorts(config);
  return config;
}

function readColors(r: ObjectReader): Config['colors'] {
  const defaults: Record<Color, number> = { blue: 8001, green: 8002 };
  const colors = {} as Config['colors'];
  for (const color of COLORS) {
    const c = r.child(color);
    colors[color] = { port: c.integer('port', defaults[color], 1, 65535) };
    c.rejectUnknown();
  }
  r.rejectUnknown();
  return colors;
}

export function parseHostPort(value: string, keyPath: string): HostPort {
  const match = /^(?:\[([0-9a-fA-F:]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(value);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port < 0 || port > 65535) {
    throw new ValidationError(keyPath, `must be host:port (e.g. 127.0.0.1:8080), got ${describeValue(value)}`);
  }
  return { host: match[1] ?? match[2]!, port };
}

function readListen(r: ObjectReader, resolve: (p: string) => string): Config['listen'] {
  const listen = {
    public: parseHostPort(r.string('public', '0.0.0.0:8080'), r.keyPath('public')),
    preview:
      r.raw('preview') === false ? null : parseHostPort(r.string('preview', '127.0.0.1:8003'), r.keyPath('preview')),
    admin: r.raw('admin') === false ? null : resolve(r.string('admin', '/run/openhack/hypervisor.sock')),
    tls: r.has('tls') ? readTls(r.child('tls'), resolve) : (r.raw('tls'), null),
  };
  r.rejectUnknown();
  return listen;
}

function readTls(r: ObjectReader, resolve: (p: string) => string): Config['listen']['tls'] {
  const tls = { cert: resolve(r.string('cert')), key: resolve(r.string('key')) };
  r.rejectUnknown();
  return tls;
}

function readUnits(r: ObjectReader): Config['units'] {
  const units = { driver: r.oneOf('driver', ['systemd', 'process'] as const, 'systemd') };
  r.rejectUnknown();
  return units;
}

function readStore(r: ObjectReader, resolve: (p: string) => string): StoreConfig {
  const kind = r.oneOf('kind', ['embedded', 'mongodb'] as const, 'embedded');
  const store: StoreConfig =
    kind === 'embedded'
      ? { kind, path: resolve(r.string('path', '/var/lib/openhack/hypervisor.db')) }
      : {
          kind,
          uri: matching(r, 'uri', /^mongodb(\+srv)?:\/\//),
          database: matching(r, 'database', /^[A-Za-z0-9_-]{1,63}$/, 'hypervisor'),
        };
  r.rejectUnknown();
  return store;
}

function readDesired(r: ObjectReader, resolve: (p: string) => string): Config['desired'] {
  const file = r.optionalString('file');
  let git: GitSourceConfig | null = null;
  if (r.has('git')) {
    const g = r.child('git');
    git = {
      url: g.string('url'),
      branch: matching(g, 'branch', /^[A-Za-z0-9._/-]+$/, 'main'),
      path: matching(g, 'path', /^[A-Za-z0-9._/-]+$/, 'desired.yaml'),
      intervalMs: g.durationMs('interval', '60s'),
      repository: g.has('repository')
        ? matching(g, 'repository', /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/)
        : (g.raw('repository'), null),
    };
    g.rejectUnknown();
  } else {
    r.raw('git');
  }
  r.rejectUnknown();
  return { file: file === null ? null : resolve(file), git };
}

function readGithub(r: ObjectReader, resolve: (p: string) => string): Config['github'] {
  const repository = r.has('repository')
    ? matching(r, 'repository', /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/)
    : (r.raw('repository'), null);
  const secretFile = r.optionalString('secretFile');
  // Without a repository to compare, any repository's signed deliveries would be acted on.
  if (secretFile !== null && repository === null) {
    throw new ValidationError(
      r.keyPath('repository'),
      'is required with github.secretFile (e.g. OpenLabsRo/openhack-backend), got ' +
        `${describeValue(r.raw('repository'))}`,
    );
  }
  const github = {
    repository,
    secretFile: secretFile === null ? null : resolve(secretFile),
    // GitHub caps a delivery at 25 MB; tag pushes are a few KiB.
    maxBodyBytes: r.integer('maxBodyBytes', 1024 * 1024, 1024, 25 * 1024 * 1024),
  };
  r.rejectUnknown();
  return github;
}

function readPolicy(r: ObjectReader): Config['policy'] {
  const policy = {
    autoStage: r.boolean('autoStage', true),
    autoPromote: r.boolean('autoPromote', false),
    promoteDelayMs: r.durationMs('promoteDelay', '0s'),
    keepReleases: r.integer('keepReleases', 5, 1, 1000),
  };
  r.rejectUnknown();
  return policy;
}

function readMetrics(r: ObjectReader): Config['metrics'] {
  const listen = r.optionalString('listen');
  const metrics = { listen: listen === null ? null : parseHostPort(listen, r.keyPath('listen')) };
  r.rejectUnknown();
  return metrics;
}

function readReconcile(r: ObjectReader): Config['reconcile'] {
  const reconcile = { intervalMs: r.durationMs('interval', '5s') };
  r.rejectUnknown();
  return reconcile;
}

function checkPorts(config: Config): void {
  const used = new Map<number, string>();
  const claim = (port: number, key: string): void => {
    if (port === 0) return;
    const other = used.get(port);
    if (other) throw new ValidationError(key, `port ${port} is already used by ${other}`);
    used.set(port, key);
  };
  claim(config.colors.blue.port, 'colors.blue.port');
  claim(config.colors.green.port, 'colors.green.port');
  claim(config.listen.public.port, 'listen.public');
  if (config.listen.preview) claim(config.listen.preview.port, 'listen.preview');
  if (config.metrics.listen) claim(config.metrics.listen.port, 'metrics.listen');
}
