// What the host-side verbs (setup, restart, upgrade, logs, doctor) share: the config they act on,
// the daemon's own unit as setup recorded it, and waiting until the daemon answers healthz.
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { loadConfig, type Config } from '../../config/config.js';
import { readInstallRecord, installLayout, type InstallRecord, type InstallLayout } from '../../host/install-layout.js';
import { DaemonService } from '../../host/daemon-unit.js';
import { ApiClient, type Endpoint } from '../client.js';
import { stringFlag } from '../flags.js';
import { CliError } from '../output.js';

export const DEFAULT_CONFIG = '/etc/openhack/hypervisor.yaml';

export function configPathOf(options: { config?: unknown }): string {
  return path.resolve(stringFlag(options.config, '--config') ?? process.env.HYPERVISOR_CONFIG ?? DEFAULT_CONFIG);
}

export interface Host {
  configPath: string;
  config: Config;
  layout: InstallLayout;
}

export function loadHost(options: { config?: unknown }): Host {
  const configPath = configPathOf(options);
  const config = loadConfig(configPath);
  return { configPath, config, layout: installLayout(config.root) };
}

/** The install record, or a message that says how to get one. */
export async function requireInstall(host: Host): Promise<InstallRecord> {
  const record = await readInstallRecord(host.layout);
  if (record === null) {
    throw new CliError(
      1,
      'not_installed',
      `the daemon was not installed by hyperctl setup (no ${host.layout.installFile}); run: hyperctl setup --config ${host.configPath} [--user]`,
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
      if (unit?.activeState === 'failed')
        return { failed: `${service!.unit} failed (${unit.subState}); see hyperctl logs` };
      const answer = await client
        .request<{ ok: boolean; version: string; startedAt: string }>('GET', '/healthz', undefined, PROBE_TIMEOUT_MS)
        .catch((err: Error) => {
          last = err.message.split(';')[0]!; // the cause, without the client's general advice
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
