// What the host-side verbs (setup, restart, upgrade, logs, doctor) share: the config they act on,
// the daemon's own unit as setup recorded it, and waiting until the daemon answers healthz.
import { setTimeout as delay } from 'node:timers/promises';
import { isFailed } from '../../common/unit-state.js';
import type { Config } from '../../config/config.js';
import { readInstallRecord, installLayout, type InstallRecord, type InstallLayout } from '../../host/install-layout.js';
import { DaemonService } from '../../host/daemon-unit.js';
import { ApiClient, type Endpoint } from '../client.js';
import { CliError } from '../output.js';
import { findConfig, readFoundConfig, type ConfigOrigin, type FoundConfig } from './which-config.js';

export interface Host {
  configPath: string;
  /** How the config was found: the demo's advice differs from a host's. */
  origin: ConfigOrigin;
  config: Config;
  layout: InstallLayout;
}

export function loadHost(options: { config?: unknown }): Host {
  return hostOf(findConfig(options));
}

export function hostOf(found: FoundConfig): Host {
  const config = readFoundConfig(found);
  return { configPath: found.path, origin: found.origin, config, layout: installLayout(config.root) };
}

/** The install record, or a message that says how to get one. */
export async function requireInstall(host: Host): Promise<InstallRecord> {
  const record = await readInstallRecord(host.layout);
  if (record === null) {
    const how =
      host.origin === 'demo'
        ? "the demo's daemon runs in the terminal of npm start: stop it there (Ctrl-C, or npm stop) " +
          'and run npm start again'
        : 'start it the way it was started, or install it as a service: hyperctl setup --config ' +
          `${host.configPath} [--user]`;
    throw new CliError(
      1,
      'not_installed',
      `the daemon was not installed by hyperctl setup (no ${host.layout.installFile}), so hyperctl ` +
        `cannot drive it; ${how}`,
    );
  }
  return record;
}

export function serviceOf(record: InstallRecord): DaemonService {
  return new DaemonService({ scope: record.scope, unit: record.unit, env: record.env });
}

/** The admin socket when there is one (no proxy in between), else the public listener. */
export function endpointOf(config: Config): Endpoint {
  return config.listen.admin ? { socketPath: config.listen.admin } : { url: publicUrl(config) };
}

/** The public listener as a URL this host can reach (a wildcard address becomes loopback). */
export function publicUrl(config: Config): string {
  const { host, port } = config.listen.public;
  const shown = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
  return `http://${shown}:${port}`;
}

export interface Healthy {
  version: string;
  startedAt: string;
  pid: number | null;
  /** How long the wait took. */
  afterMs: number;
}

const POLL_MS = 250;
const PROBE_TIMEOUT_MS = 2_000;

/**
 * Polls healthz until a daemon started at or after `since` answers, the unit fails, or the deadline
 * passes (`{failed}` then, saying why). A failed unit ends the wait early: systemd has given up on
 * it, so waiting longer cannot help.
 */
export async function waitHealthy(
  endpoint: Endpoint,
  service: DaemonService | null,
  options: { deadlineMs: number; since: number },
): Promise<Healthy | { failed: string }> {
  const started = Date.now();
  const client = new ApiClient(endpoint);
  let last = 'no answer yet';
  try {
    while (Date.now() - started < options.deadlineMs) {
      const unit = service ? await service.state().catch(() => null) : null;
      if (unit && isFailed(unit)) return { failed: `${service!.unit} failed (${unit.subState}); see hyperctl logs` };
      const answer = await client
        .request<{ ok: boolean; version: string; startedAt: string }>('GET', '/healthz', undefined, PROBE_TIMEOUT_MS)
        .catch((err: Error) => {
          last = err.message;
          return null;
        });
      // One second of slack: startedAt is written by the daemon, `since` by us, on the same clock.
      if (answer?.ok && Date.parse(answer.startedAt) >= options.since - 1_000) {
        return {
          version: answer.version,
          startedAt: answer.startedAt,
          pid: unit?.mainPid ?? null,
          afterMs: Date.now() - started,
        };
      }
      if (answer) last = `healthz answered for a daemon started at ${answer.startedAt}, before this start`;
      await delay(POLL_MS);
    }
    return { failed: `not healthy within ${options.deadlineMs} ms (last: ${last})` };
  } finally {
    await client.close();
  }
}
