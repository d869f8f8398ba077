// hyperctl doctor: one line per thing the daemon needs from this host (config, the daemon itself,
// user manager, lingering, ports, store, disk), each with a fix when it is not right. Read-only.
// Exit 1 when any check fails; warnings alone exit 0.
import { existsSync } from 'node:fs';
import { isRunning } from '../../common/unit-state.js';
import type { Config } from '../../config/config.js';
import {
  checkDisk,
  checkLingering,
  checkPort,
  checkStore,
  checkUserManager,
  type Check,
} from '../../host/doctor-checks.js';
import { currentUser } from '../../host/linger.js';
import { readInstallRecord } from '../../host/install-layout.js';
import { invokingUserEnv } from '../../host/daemon-unit.js';
import type { StatusAnswer } from '../../api/wire.js';
import { ApiClient } from '../client.js';
import { emit, type OutputOptions } from '../output.js';
import { endpointOf, hostOf, type Host } from './host.js';
import { findConfig, type FoundConfig } from './which-config.js';

export async function doctor(options: OutputOptions & { config?: string }): Promise<number> {
  const found = findConfig(options);
  const checks: Check[] = [];
  let host: Host | null = null;
  try {
    host = hostOf(found);
    const whose = found.origin === 'demo' ? " (the demo's)" : '';
    checks.push({ name: 'config', status: 'ok', detail: `${found.path} is valid${whose}`, fix: null });
  } catch (err) {
    checks.push({ name: 'config', status: 'fail', detail: (err as Error).message, fix: configFix(found) });
  }
  if (host) checks.push(...(await hostChecks(host)));
  const failed = checks.some((c) => c.status === 'fail');
  emit(options, { ok: !failed, checks }, () => checks.map(formatCheck).join('\n'));
  return failed ? 1 : 0;
}

function configFix(found: FoundConfig): string {
  if (found.origin === 'default' && !existsSync(found.path)) {
    return (
      'for the demo, run hyperctl where npm start runs; otherwise give --config PATH, or write ' +
      `${found.path} with hyperctl setup`
    );
  }
  return `correct ${found.path} (every key: config/hypervisor.example.yaml)`;
}

function formatCheck(c: Check): string {
  return `${c.status.padEnd(5)} ${c.name.padEnd(20)} ${c.detail}${c.fix ? `\n${''.padEnd(27)}fix: ${c.fix}` : ''}`;
}

async function hostChecks(host: Host): Promise<Check[]> {
  const config = host.config;
  const record = await readInstallRecord(host.layout).catch(() => null);
  const { check: daemon, status } = await checkDaemon(config, daemonFix(host, record !== null));
  const holders = holdersOf(config, status);
  const ports: Array<[string, string, number]> = [
    ['listen.public', config.listen.public.host, config.listen.public.port],
    ...(config.listen.preview
      ? [['listen.preview', config.listen.preview.host, config.listen.preview.port] as [string, string, number]]
      : []),
    ['colors.blue.port', '127.0.0.1', config.colors.blue.port],
    ['colors.green.port', '127.0.0.1', config.colors.green.port],
  ];
  return [
    daemon,
    await checkUserManager(config, record?.env ?? invokingUserEnv()),
    await checkLingering(config, currentUser()),
    ...(await Promise.all(ports.map(([name, host, port]) => checkPort(name, host, port, holders.get(name) ?? null)))),
    await checkStore(config.store),
    await checkDisk(config),
  ];
}

/** How to bring the daemon back depends on who runs it: its unit, the demo, or whoever started it by hand. */
function daemonFix(host: Host, installed: boolean): string {
  if (installed) return 'hyperctl restart; hyperctl logs shows why it stopped';
  if (host.origin === 'demo') return 'start the demo again: npm start (hyperctl logs shows why it stopped)';
  return (
    `start it (hypervisor --config ${host.configPath}), or install it as a service: hyperctl ` +
    `setup --config ${host.configPath}`
  );
}

async function checkDaemon(config: Config, fix: string): Promise<{ check: Check; status: StatusAnswer | null }> {
  const client = new ApiClient(endpointOf(config));
  try {
    const status = await client.request<StatusAnswer>('GET', '/status', undefined, 5_000);
    return {
      check: {
        name: 'daemon',
        status: 'ok',
        detail: `healthy, version ${status.daemon.version}, up since ${status.daemon.startedAt}`,
        fix: null,
      },
      status,
    };
  } catch (err) {
    const check: Check = {
      name: 'daemon',
      status: 'fail',
      detail: (err as Error).message,
      fix,
    };
    return { check, status: null };
  } finally {
    await client.close();
  }
}

/** Who may hold each port: the daemon its listeners while it answers, a running color its port. */
function holdersOf(config: Config, status: StatusAnswer | null): Map<string, string> {
  const holders = new Map<string, string>();
  if (!status) return holders;
  holders.set('listen.public', 'the hypervisor');
  if (config.listen.preview) holders.set('listen.preview', 'the hypervisor');
  for (const color of ['blue', 'green'] as const) {
    const unit = status.status.colors?.[color]?.unit;
    if (unit && isRunning(unit)) holders.set(`colors.${color}.port`, `${color} (pid ${unit.mainPid ?? '?'})`);
  }
  return holders;
}
