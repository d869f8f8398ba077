// The daemon's configuration (ARCHITECTURE.md, "The config file"): types, defaults and validation.
// Every key is checked once at start; a bad key or value throws a ValidationError naming both.
import { isIPv4, isIPv6 } from 'node:net';
import path from 'node:path';
import YAML from 'yaml';
import { ValidationError } from '../common/errors.js';
import { COLORS, type Color } from '../common/types.js';
import { readCappedFileSync } from '../common/capped-read.js';
import { describeValue } from '../common/describe.js';
import { DEFAULT_TAG_PATTERN } from '../common/git-names.js';
import { FILE_CAPS, FileTooLargeError } from '../common/limits.js';
import { checkYamlNesting } from '../common/nesting.js';
import { readGates, type GatesConfig } from './gates.js';
import { readNotify, type NotifyTarget } from './notify.js';
import { ObjectReader } from './reader.js';

export interface HostPort {
  host: string;
  port: number;
}

export interface StepConfig {
  script: string;
  timeoutMs: number;
}

export interface HealthConfig {
  /** @default '/ping' */
  readyPath: string;
  /** @default '/version' */
  versionPath: string;
  /** @default 2s */
  intervalMs: number;
  /** @default 1s */
  timeoutMs: number;
  /** Consecutive failed probes before a Ready color counts as Degraded. @default 3 */
  failureThreshold: number;
  /** How long a started color may take to become Ready before it is Failed. @default 60s */
  startTimeoutMs: number;
}

export interface AppConfig {
  name: string;
  /** A git URL or a local path (resolved against the config file's folder). */
  repo: string;
  tagPattern: RegExp;
  build: StepConfig;
  test: StepConfig;
  run: { deployment: string; envRoot: string };
  health: HealthConfig;
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

export interface AuthConfig {
  /** Lifetime of a login token and its session; 1m to 1h. @default 15m */
  tokenTtlMs: number;
  /** The JWT signing secret, generated at first start (mode 0600). @default <root>/auth/jwt-secret */
  secretFile: string;
  /** @default 'openhack-hypervisor' */
  issuer: string;
  /** @default 'openhack-hypervisor' */
  audience: string;
  lockout: {
    /** Failed logins in a row before an account is locked. @default 10 */
    threshold: number;
    /** The first lock's length; each further lock doubles it. @default 30s */
    baseMs: number;
    /** The longest lock. @default 1h */
    maxMs: number;
  };
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
  proxy: {
    /** Requests in flight on the old color get this long after a switch; websockets are then closed. @default 30s */
    drainTimeoutMs: number;
    /** Deadline for a client's request head (408 after it). @default 30s */
    headerTimeoutMs: number;
    /** A client's keep-alive connection is closed after this long without a request. @default 65s */
    idleTimeoutMs: number;
    /** Deadline to connect to a backend (504 after it). @default 5s */
    connectTimeoutMs: number;
    /** Deadline for a backend's response head (504 after it). @default 60s */
    responseTimeoutMs: number;
    /** Largest request body passed on (413 above); config key `maxBodySize`, e.g. 512kb, 10mb. @default 10mb */
    maxBodyBytes: number;
    /** Addresses or CIDR ranges of proxies in front of us whose X-Forwarded-* are kept. @default [] */
    trustedProxies: string[];
  };
  auth: AuthConfig;
  /** Where notifications go (config/notify.ts). @default [] */
  notify: NotifyTarget[];
}

const APP_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;
const SCRIPT_NAME = /^[A-Za-z0-9_.-]+$/;
const URL_PATH = /^\/[A-Za-z0-9/_.~-]*$/;

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
  };
  top.rejectUnknown();
  checkPorts(config);
  return config;
}

function matching(reader: ObjectReader, key: string, pattern: RegExp, fallback?: string): string {
  const value = reader.string(key, fallback);
  if (!pattern.test(value)) {
    throw new ValidationError(reader.keyPath(key), `must match ${pattern.source}, got ${describeValue(value)}`);
  }
  return value;
}

function readApp(r: ObjectReader, resolve: (p: string) => string, root: string): AppConfig {
  const name = matching(r, 'name', APP_NAME);
  const repoRaw = r.string('repo');
  const repo = /^[a-z+]+:\/\/|^git@/.test(repoRaw) ? repoRaw : resolve(repoRaw);
  const app: AppConfig = {
    name,
    repo,
    tagPattern: readPattern(r, 'tagPattern'),
    build: readStep(r.child('build'), 'BUILD', '10m'),
    test: readStep(r.child('test'), 'TEST', '20m'),
    run: readRun(r.child('run'), resolve, root),
    health: readHealth(r.child('health')),
  };
  r.rejectUnknown();
  return app;
}

function readPattern(r: ObjectReader, key: string): RegExp {
  const source = r.string(key, DEFAULT_TAG_PATTERN);
  if (!source.startsWith('^') || !source.endsWith('$')) {
    throw new ValidationError(r.keyPath(key), `must be anchored with ^ and $, got ${describeValue(source)}`);
  }
  try {
    return new RegExp(source);
  } catch (err) {
    throw new ValidationError(
      r.keyPath(key),
      `is not a valid regular expression ${describeValue(source)}: ${(err as Error).message}`,
    );
  }
}

function readStep(r: ObjectReader, script: string, timeout: string): StepConfig {
  const step = { script: matching(r, 'script', SCRIPT_NAME, script), timeoutMs: r.durationMs('timeout', timeout) };
  r.rejectUnknown();
  return step;
}

function readRun(r: ObjectReader, resolve: (p: string) => string, root: string): AppConfig['run'] {
  const run = {
    deployment: matching(r, 'deployment', /^[A-Za-z0-9_-]+$/, 'prod'),
    envRoot: r.has('envRoot') ? resolve(r.string('envRoot')) : path.join(root, 'env'),
  };
  r.rejectUnknown();
  return run;
}

function readHealth(r: ObjectReader): HealthConfig {
  const health: HealthConfig = {
    readyPath: matching(r, 'readyPath', URL_PATH, '/ping'),
    versionPath: matching(r, 'versionPath', URL_PATH, '/version'),
    intervalMs: r.durationMs('interval', '2s'),
    timeoutMs: r.durationMs('timeout', '1s'),
    failureThreshold: r.integer('failureThreshold', 3, 1, 100),
    startTimeoutMs: r.durationMs('startTimeout', '60s'),
  };
  r.rejectUnknown();
  return health;
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

function readReconcile(r: ObjectReader): Config['reconcile'] {
  const reconcile = { intervalMs: r.durationMs('interval', '5s') };
  r.rejectUnknown();
  return reconcile;
}

function readProxy(r: ObjectReader): Config['proxy'] {
  const timeout = (key: string, fallback: string): number => {
    const ms = r.durationMs(key, fallback);
    if (ms <= 0) throw new ValidationError(r.keyPath(key), `must be longer than 0, got ${describeValue(r.raw(key))}`);
    return ms;
  };
  const proxy = {
    drainTimeoutMs: timeout('drainTimeout', '30s'),
    headerTimeoutMs: timeout('headerTimeout', '30s'),
    idleTimeoutMs: timeout('idleTimeout', '65s'),
    connectTimeoutMs: timeout('connectTimeout', '5s'),
    responseTimeoutMs: timeout('responseTimeout', '60s'),
    maxBodyBytes: readSize(r, 'maxBodySize', '10mb'),
    trustedProxies: readAddressList(r, 'trustedProxies'),
  };
  r.rejectUnknown();
  return proxy;
}

const SIZE = /^(\d+)\s*(b|kb|mb|gb)?$/i;
const SIZE_UNIT = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 } as const;

/** A byte count: a whole number, or with a binary unit (512kb, 10mb, 1gb). */
function readSize(r: ObjectReader, key: string, fallback: string): number {
  const value = r.raw(key) ?? fallback;
  const match = SIZE.exec(String(value).trim());
  const bytes =
    match && (typeof value === 'number' || typeof value === 'string')
      ? Number(match[1]) * SIZE_UNIT[(match[2] ?? 'b').toLowerCase() as keyof typeof SIZE_UNIT]
      : NaN;
  if (!Number.isSafeInteger(bytes)) {
    throw new ValidationError(
      r.keyPath(key),
      `must be a size like 1048576, 512kb, 10mb or 1gb, got ${describeValue(value)}`,
    );
  }
  return bytes;
}

/** IP addresses or CIDR ranges (10.0.0.0/8, ::1, fd00::/8). */
function readAddressList(r: ObjectReader, key: string): string[] {
  const value = r.raw(key) ?? [];
  if (!Array.isArray(value))
    throw new ValidationError(
      r.keyPath(key),
      `must be a list of IP addresses or CIDR ranges, got ${describeValue(value)}`,
    );
  return value.map((entry: unknown, i) => {
    const [address = '', prefix, extra] = typeof entry === 'string' ? entry.trim().split('/') : [];
    const bits = isIPv4(address) ? 32 : isIPv6(address) ? 128 : 0;
    const length = prefix === undefined ? bits : /^\d{1,3}$/.test(prefix) ? Number(prefix) : -1;
    if (bits === 0 || extra !== undefined || length < 0 || length > bits) {
      throw new ValidationError(
        `${r.keyPath(key)}[${i}]`,
        `must be an IP address or a CIDR range like 10.0.0.0/8, got ${describeValue(entry)}`,
      );
    }
    return (entry as string).trim();
  });
}

const TOKEN_TTL_MIN_MS = 60_000;
const TOKEN_TTL_MAX_MS = 3_600_000;

function readAuth(r: ObjectReader, resolve: (p: string) => string, root: string): AuthConfig {
  const tokenTtlMs = r.durationMs('tokenTtl', '15m');
  // Tokens are bearer credentials: short-lived by construction, never "remember me for a month".
  if (tokenTtlMs < TOKEN_TTL_MIN_MS || tokenTtlMs > TOKEN_TTL_MAX_MS) {
    throw new ValidationError(r.keyPath('tokenTtl'), `must be from 1m to 1h, got ${describeValue(r.raw('tokenTtl'))}`);
  }
  const secretFile = r.optionalString('secretFile');
  const auth: AuthConfig = {
    tokenTtlMs,
    secretFile: secretFile === null ? path.join(root, 'auth', 'jwt-secret') : resolve(secretFile),
    issuer: matching(r, 'issuer', /^[\x21-\x7e]{1,200}$/, 'openhack-hypervisor'),
    audience: matching(r, 'audience', /^[\x21-\x7e]{1,200}$/, 'openhack-hypervisor'),
    lockout: readLockout(r.child('lockout')),
  };
  r.rejectUnknown();
  return auth;
}

function readLockout(r: ObjectReader): AuthConfig['lockout'] {
  const lockout = {
    threshold: r.integer('threshold', 10, 1, 1000),
    baseMs: r.durationMs('base', '30s'),
    maxMs: r.durationMs('max', '1h'),
  };
  if (lockout.baseMs < 1000)
    throw new ValidationError(r.keyPath('base'), `must be at least 1s, got ${describeValue(r.raw('base'))}`);
  if (lockout.maxMs < lockout.baseMs) {
    throw new ValidationError(
      r.keyPath('max'),
      `must be at least lockout.base (${describeValue(r.raw('base') ?? '30s')}), got ${describeValue(r.raw('max'))}`,
    );
  }
  r.rejectUnknown();
  return lockout;
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
}
