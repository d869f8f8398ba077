// Which config hyperctl acts on: `--config`, else `$HYPERVISOR_CONFIG`, else the demo's
// `.demo/hypervisor.yaml` in the current directory (what `npm start` writes), else the host's
// /etc/openhack/hypervisor.yaml. A config found by looking in the current directory is named on
// stderr, so that the operator always knows which daemon an answer is about.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadConfig, type Config } from '../../config/config.js';
import { stringFlag } from '../flags.js';
import { CliError, EXIT } from '../output.js';

export const DEFAULT_CONFIG = '/etc/openhack/hypervisor.yaml';
/** Where `npm start` writes its config, relative to the folder it runs in. */
export const DEMO_CONFIG = path.join('.demo', 'hypervisor.yaml');

/** How the config was chosen: a flag, the environment, the demo's in the current directory, the default. */
export type ConfigOrigin = 'flag' | 'env' | 'demo' | 'default';

export interface FoundConfig {
  path: string;
  origin: ConfigOrigin;
}

/** `demo: false` for setup, which must never install a service for the demo's config by accident. */
export function findConfig(options: { config?: unknown }, look: { demo: boolean } = { demo: true }): FoundConfig {
  const flag = stringFlag(options.config, '--config');
  if (flag) return { path: path.resolve(flag), origin: 'flag' };
  if (process.env.HYPERVISOR_CONFIG) return { path: path.resolve(process.env.HYPERVISOR_CONFIG), origin: 'env' };
  const demo = path.resolve(DEMO_CONFIG);
  if (look.demo && existsSync(demo)) return { path: demo, origin: 'demo' };
  return { path: DEFAULT_CONFIG, origin: 'default' };
}

/** Reads and validates the config; one that was looked for and not found says where hyperctl looked. */
export function readFoundConfig(found: FoundConfig): Config {
  if (found.origin === 'default' && !existsSync(found.path)) {
    throw new CliError(
      EXIT.usage,
      'no_config',
      `no config found: no --config PATH, no $HYPERVISOR_CONFIG, no ${DEMO_CONFIG} in ` +
        `${process.cwd()} (npm start writes one in its repo), ` +
        `no ${DEFAULT_CONFIG} (hyperctl setup writes it on a host)`,
    );
  }
  const config = loadConfig(found.path);
  if (found.origin === 'demo') {
    process.stderr.write(`hyperctl: config ${DEMO_CONFIG} (the demo's, written by npm start)\n`);
  }
  return config;
}
