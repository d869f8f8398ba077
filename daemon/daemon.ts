// The one composition root: builds the daemon from its config. Every other module receives what
// it needs from here; nothing else reads the config file or wires layers together.
import { mkdir, readdir } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApi } from '../api/app.js';
import { createAuth } from '../api/auth/setup.js';
import type { ApiDeps } from '../api/deps.js';
import { ensureDir, LOG_DIR_MODE, LOG_FILE_MODE, narrowMode } from '../common/file-modes.js';
import type { ReconcilerStatus } from '../common/status.js';
import { guardWrite } from '../common/write-failure.js';
import type { Config } from '../config/config.js';
import type { ConfigSource } from '../config/overrides.js';
import { DesiredStateService } from '../desired-state/revisions.js';
import { TrafficMeter } from '../proxy/meter.js';
import { Router } from '../proxy/router.js';
import { closeServer, createProxyServer, type ProxyServerOptions, type ProxyTlsOptions } from '../proxy/server.js';
import { ReleasePipeline } from '../reconciler/pipeline.js';
import { Loop } from '../reconciler/loop.js';
import { HypervisorMetrics } from '../reconciler/metrics.js';
import { smokeTestsFor } from '../reconciler/smoke.js';
import { openStore } from '../store/open-store.js';
import { canaryOptions } from './canary.js';
import { startDesiredSources } from './desired-sources.js';
import { startDiskWatch } from './disk-watch.js';
import { makeDriver, stepContainment } from './host-drivers.js';
import { startNotifications } from './notifications.js';
import { watchStoreHealth } from './store-health.js';
import { LiveNotifications, runtimeConfig } from './config-changes.js';
import { holdUntilFirstPass, listenAdmin, listenOrExplain } from './listeners.js';
import { reportArchive, startLogArchive } from './log-archive.js';
import { listenMetrics, watchLoopMetrics } from './metrics.js';
import { startVerification } from './verify.js';
import { Readiness } from './readiness.js';
import { releaseFlow } from './release-flow.js';
import type { Store } from '../store/store.js';
import type { UnitDriver } from '../units/driver.js';

export const DAEMON_VERSION = '0.1.0';

/** What healthz waits for, named as an operator reads them in its 503 answer. */
const PART = {
  public: 'public listener (API and proxy)',
  preview: 'preview listener',
  admin: 'admin socket',
  loop: 'desired-state sources and the reconcile loop',
} as const;

export interface Daemon {
  readonly config: Config;
  readonly store: Store;
  /** The reconcile loop (reconciler/loop.ts). */
  readonly reconciler: Loop;
  readonly publicAddress: AddressInfo;
  readonly previewAddress: AddressInfo | null;
  readonly adminSocket: string | null;
  /** `metrics.listen`, once open; null without it. */
  readonly metricsAddress: AddressInfo | null;
  /** Stops the daemon. The backends keep running: a restarted daemon adopts them. */
  close(): Promise<void>;
}

/** `source`: the config file and its runtime changes (config set); without it config set answers 503. */
export async function startDaemon(
  config: Config,
  log: (line: string) => void = console.log,
  source?: ConfigSource,
): Promise<Daemon> {
  await prepareFolders(config);
  const driver = await makeDriver(config);
  const store = await openStore(config.store);
  const closers: Array<() => Promise<unknown>> = [() => store.close(), () => driver.close()];
  try {
    return await assemble(config, store, driver, closers, log, source);
  } catch (err) {
    await closeAll(closers);
    throw err;
  }
}

async function assemble(
  config: Config,
  store: Store,
  driver: UnitDriver,
  closers: Array<() => Promise<unknown>>,
  log: (line: string) => void,
  source?: ConfigSource,
): Promise<Daemon> {
  const desired = new DesiredStateService(store, config.app.tagPattern);
  const { drainTimeoutMs, connectTimeoutMs, responseTimeoutMs } = config.proxy;
  const router = new Router({ drainTimeoutMs, connectTimeoutMs, responseTimeoutMs });
  closers.unshift(() => router.close(config.proxy.drainTimeoutMs));
  const archive = await startLogArchive(config, store, closers);
  const builder = new ReleasePipeline({
    repo: config.app.repo,
    root: config.root,
    appBuild: config.app.build,
    appTest: config.app.test,
    envRoot: config.app.run.envRoot,
    tagPattern: config.app.tagPattern,
    store,
    containment: stepContainment(config),
    stepLogs: archive ?? undefined,
  });
  const meter = new TrafficMeter();
  const metrics = new HypervisorMetrics({
    meter,
    router,
    status: (): ReconcilerStatus => reconciler.status(),
    activeColor: () => router.activeColor(),
  });
  const smoke = smokeTestsFor(config.gates.smoke, {
    root: config.root,
    store,
    containment: stepContainment(config),
    metrics,
  });
  const reconciler: Loop = new Loop({
    config,
    store,
    driver,
    router,
    builder,
    buildLeftovers: builder,
    smoke,
    canary: canaryOptions(config, desired, () => reconciler.status(), meter),
    metrics,
  });
  closers.unshift(() => reconciler.close());
  reportArchive(archive, reconciler, closers);
  watchLoopMetrics(reconciler, store, metrics);
  startVerification(config, { store, desired, reconciler, meter, metrics }, closers);
  desired.onChange(() => void reconciler.trigger());
  watchStoreHealth(store, reconciler, log, closers);
  const notifications = new LiveNotifications(await startNotifications(config, store, DAEMON_VERSION));
  closers.unshift(() => notifications.close());
  const disk = await startDiskWatch(config, reconciler, store, log);
  closers.unshift(() => disk.close());
  // The config repo's source starts after the listeners; a push webhook that arrives before it is
  // harmless (the start pulls anyway), so the route reaches it through this late-bound handle.
  const configRepo = { pull: (): void => undefined };
  const parts = { store, driver, desired, builder, reconciler, configRepo, archive };
  const releases = await releaseFlow(config, parts, closers);

  const { auth, users } = await createAuth(config.auth, store);
  const readiness = new Readiness([
    PART.public,
    ...(config.listen.preview ? [PART.preview] : []),
    ...(config.listen.admin ? [PART.admin] : []),
    PART.loop,
  ]);
  const deps: ApiDeps = {
    desired,
    reconciler,
    store,
    auth,
    users,
    logsDir: path.join(config.root, 'logs'),
    smokeGate: smoke !== undefined,
    daemon: { version: DAEMON_VERSION, startedAt: new Date().toISOString(), driver: driver.kind, store: store.kind },
    readiness,
    webhooks: releases.webhooks,
    releases: releases.intake,
    notify: notifications.notifier,
    config: runtimeConfig(config, source ?? null, { ...releases, store, notifications, version: DAEMON_VERSION }),
    dashboardDir: fileURLToPath(new URL('../ui/', import.meta.url)), // npm run build:ui: dist/ui/ by dist/daemon/
    archivedLogs: archive ?? undefined,
    metrics,
    traffic: meter,
  };
  const api = createApi(deps, 'public');
  holdUntilFirstPass(router, reconciler, connectTimeoutMs);
  const publicServer = createProxyServer({
    router,
    apiHandler: api,
    which: 'public',
    ...listenerLimits(config),
    tls: publicTls(config, log),
    meter,
  });
  closers.unshift(() => closeServer(publicServer, 5_000));
  const publicAddress = await listenOrExplain(
    publicServer,
    config.listen.public.host,
    config.listen.public.port,
    'listen.public',
  );
  readiness.up(PART.public);
  let previewAddress: AddressInfo | null = null;
  if (config.listen.preview) {
    // No API here: the preview listener is plain HTTP for smoke tests, never a second way in.
    const previewServer = createProxyServer({ router, which: 'preview', ...listenerLimits(config), meter });
    closers.unshift(() => closeServer(previewServer, 5_000));
    previewAddress = await listenOrExplain(
      previewServer,
      config.listen.preview.host,
      config.listen.preview.port,
      'listen.preview',
    );
    readiness.up(PART.preview);
  }
  if (config.listen.admin) {
    const adminServer = http.createServer(createApi(deps, 'admin'));
    closers.unshift(() => closeServer(adminServer, 5_000));
    await listenAdmin(adminServer, config.listen.admin);
    readiness.up(PART.admin);
  }

  const metricsAddress = await listenMetrics(config, metrics, closers);

  const sources = await startDesiredSources({ config, desired, reconciler, store, log });
  closers.unshift(() => sources.close());
  if (sources.git) configRepo.pull = () => void sources.git!.pull();

  await reconciler.start();
  readiness.up(PART.loop);
  closers.unshift(async () => readiness.stopping());
  const scheme = config.listen.tls ? 'https' : 'http';
  const preview = previewAddress ? `, preview http://${fmt(previewAddress)}` : '';
  const admin = config.listen.admin ? `, admin socket ${config.listen.admin}` : '';
  const scrape = metricsAddress ? `, metrics http://${fmt(metricsAddress)}/hypervisor/metrics` : '';
  log(
    `hypervisor ${DAEMON_VERSION}: public ${scheme}://${fmt(publicAddress)}${preview}${admin}${scrape}; ` +
      `units: ${driver.kind}; store: ${store.kind}${archive ? `; archive: ${archive.where}` : ''}; ` +
      `dashboard ${scheme}://${fmt(publicAddress)}/hypervisor/ui/`,
  );
  return {
    config,
    store,
    reconciler,
    publicAddress,
    previewAddress,
    adminSocket: config.listen.admin,
    metricsAddress,
    close: () => closeAll(closers),
  };
}

/** The `proxy:` limits every listener applies to its clients. */
function listenerLimits(config: Config): Pick<ProxyServerOptions, 'timeouts' | 'maxBodyBytes' | 'trustedProxies'> {
  const { headerTimeoutMs, idleTimeoutMs, maxBodyBytes, trustedProxies } = config.proxy;
  return {
    timeouts: { headersTimeoutMs: headerTimeoutMs, keepAliveTimeoutMs: idleTimeoutMs },
    maxBodyBytes,
    trustedProxies,
  };
}

/** `listen.tls`: HTTPS on the public listener; a reload that fails keeps the previous pair and says why. */
function publicTls(config: Config, log: (line: string) => void): ProxyTlsOptions | undefined {
  if (!config.listen.tls) return undefined;
  return {
    certFile: config.listen.tls.cert,
    keyFile: config.listen.tls.key,
    onReload: (err) =>
      log(
        err ? `listen.tls: ${err.message}; the previous certificate stays in use` : 'listen.tls: certificate reloaded',
      ),
  };
}

/** A folder the host refuses (not ours, a read-only disk) stops the start in one line naming it. */
async function prepareFolders(config: Config): Promise<void> {
  for (const dir of ['repos', 'artifacts', 'run'].map((name) => path.join(config.root, name))) {
    await guardWrite(dir, () => mkdir(dir, { recursive: true }));
  }
  await guardWrite(config.app.run.envRoot, () => mkdir(config.app.run.envRoot, { recursive: true }));
  const logs = path.join(config.root, 'logs');
  await guardWrite(logs, () => privateLogs(logs));
}

/**
 * `<root>/logs` and what lies directly in it (slot logs, the daemon's own log, a folder per tag)
 * are never readable by every local user; files an older version or systemd made 0644 are narrowed.
 */
async function privateLogs(dir: string): Promise<void> {
  ensureDir(dir, LOG_DIR_MODE, { narrow: true });
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) narrowMode(path.join(dir, entry.name), LOG_DIR_MODE);
    else if (entry.isFile()) narrowMode(path.join(dir, entry.name), LOG_FILE_MODE);
  }
}

async function closeAll(closers: Array<() => Promise<unknown>>): Promise<void> {
  for (const close of closers) {
    try {
      await close();
    } catch (err) {
      console.error(`hypervisor: error while stopping: ${(err as Error).message}`);
    }
  }
}

function fmt(address: AddressInfo): string {
  return address.family === 'IPv6' ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
}
