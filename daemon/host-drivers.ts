// What the daemon drives on its host, as the config asks: the units driver that runs the colors,
// and the containment BUILD and TEST run in (a scope of the same user manager, or the sweep).
import path from 'node:path';
import { environSweep, type Containment } from '../common/containment.js';
import type { Config } from '../config/config.js';
import type { UnitDriver } from '../units/driver.js';
import { ProcessDriver } from '../units/process-driver.js';
import { StepScopes } from '../units/step-scope.js';
import { defaultUserEnv } from '../units/systemctl.js';
import { isUserManagerReachable, SystemdDriver } from '../units/systemd-driver.js';
import { StartupError } from './startup-error.js';

/** The units driver the config asks for; the demo's `npm stop` uses it too, to stop the colors. */
export async function makeDriver(config: Config): Promise<UnitDriver> {
  if (config.units.driver === 'process') {
    return new ProcessDriver({ appName: config.app.name, stateDir: path.join(config.root, 'run') });
  }
  const env = defaultUserEnv();
  if (!(await isUserManagerReachable(env))) {
    throw new StartupError(
      `units.driver is systemd, but no systemd user manager answers at ${env.XDG_RUNTIME_DIR} ` +
        '(start one, enable lingering with `loginctl enable-linger`, or set units.driver: process)',
    );
  }
  return new SystemdDriver({ appName: config.app.name, env });
}

/**
 * With the systemd driver, steps run in transient scopes of the user manager the colors run in; else under
 * the sweep.
 */
export function stepContainment(config: Config): Containment {
  return config.units.driver === 'systemd' ? new StepScopes({ env: defaultUserEnv() }) : environSweep;
}
