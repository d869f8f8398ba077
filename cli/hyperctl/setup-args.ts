// hyperctl setup's flags, read into its request (SetupArgs): the flags that only shape a new config
// are named in it too, so setup can say they were ignored when a config exists already.
import path from 'node:path';
import { checkUnitName, DEFAULT_UNIT, invokingUserEnv } from '../../host/daemon-unit.js';
import { NEW_CONFIG_DEFAULTS } from '../../host/new-config.js';
import { durationFlag, portsFlag, stringFlag } from '../flags.js';
import { UsageError } from '../output.js';
import type { SetupArgs } from './setup-host.js';
import { findConfig } from './which-config.js';

const CONFIG_FLAGS = ['appName', 'appRepo', 'root', 'listen', 'preview', 'ports', 'adminSocket', 'driver'] as const;

export function setupArgs(o: Record<string, unknown>): SetupArgs {
  const driver = stringFlag(o.driver, '--driver') ?? NEW_CONFIG_DEFAULTS.driver;
  if (driver !== 'systemd' && driver !== 'process')
    throw new UsageError(`--driver must be systemd or process, got ${JSON.stringify(driver)}`);
  const preview = stringFlag(o.preview, '--preview') ?? NEW_CONFIG_DEFAULTS.preview;
  const adminSocket =
    stringFlag(o.adminSocket, '--admin-socket') ??
    (o.user
      ? path.join(invokingUserEnv().XDG_RUNTIME_DIR, 'openhack-hypervisor.sock')
      : NEW_CONFIG_DEFAULTS.adminSocket);
  return {
    scope: o.user ? 'user' : 'system',
    configPath: findConfig(o, { demo: false }).path,
    unit: checkUnitName(stringFlag(o.unitName, '--unit-name') ?? DEFAULT_UNIT),
    admin: stringFlag(o.admin, '--admin') ?? 'admin',
    timeoutMs: durationFlag(o.timeout, '--timeout', '60s'),
    newConfig: {
      appName: stringFlag(o.appName, '--app-name') ?? NEW_CONFIG_DEFAULTS.appName,
      appRepo: stringFlag(o.appRepo, '--app-repo') ?? NEW_CONFIG_DEFAULTS.appRepo,
      root: path.resolve(stringFlag(o.root, '--root') ?? NEW_CONFIG_DEFAULTS.root),
      listen: stringFlag(o.listen, '--listen') ?? NEW_CONFIG_DEFAULTS.listen,
      preview: preview === 'false' ? null : preview,
      ports: portsFlag(o.ports, NEW_CONFIG_DEFAULTS.ports),
      adminSocket: path.resolve(adminSocket),
      driver,
    },
    configFlags: CONFIG_FLAGS.filter((key) => o[key] !== undefined).map(
      (key) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`,
    ),
  };
}
