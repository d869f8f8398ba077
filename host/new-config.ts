// The config `hyperctl setup` writes when there is none: the contract's keys with the operator's
// answers filled in, everything under one root. It is checked with the daemon's own validator before
// it is written, so setup never leaves a config behind that the daemon would refuse.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import { parseConfig, parseHostPort, type Config } from '../config/config.js';
import { writeFileAtomic } from '../common/atomic-write.js';

export interface NewConfigInput {
  appName: string;
  appRepo: string;
  root: string;
  /** host:port of the proxy and API */
  listen: string;
  /** host:port of the inactive color, or null for none */
  preview: string | null;
  ports: { blue: number; green: number };
  adminSocket: string;
  driver: 'systemd' | 'process';
}

/** @default values of a new config (ARCHITECTURE.md, "The config file"). */
export const NEW_CONFIG_DEFAULTS = {
  appName: 'openhack-backend',
  appRepo: 'https://github.com/OpenLabsRo/openhack-backend.git',
  root: '/var/openhack',
  listen: '0.0.0.0:8080',
  preview: '127.0.0.1:8003',
  ports: '8001,8002',
  adminSocket: '/run/openhack/hypervisor.sock',
  driver: 'systemd',
} as const;

/** The text of a new config, and the parsed config it stands for (relative paths against `configDir`). */
export function renderNewConfig(input: NewConfigInput, configDir: string): { text: string; config: Config } {
  parseHostPort(input.listen, '--listen');
  if (input.preview !== null) parseHostPort(input.preview, '--preview');
  const value = {
    app: {
      name: input.appName,
      repo: input.appRepo,
      build: { script: 'BUILD', timeout: '10m' },
      test: { script: 'TEST', timeout: '20m' },
      run: { deployment: 'prod' },
    },
    colors: { blue: { port: input.ports.blue }, green: { port: input.ports.green } },
    listen: { public: input.listen, preview: input.preview ?? false, admin: input.adminSocket },
    root: input.root,
    units: { driver: input.driver },
    store: { kind: 'embedded', path: path.join(input.root, 'hypervisor.db') },
  };
  const text = [
    '# openhack-hypervisor configuration, written by `hyperctl setup`. Every key and its default:',
    "# config/hypervisor.example.yaml in the hypervisor's repo. Durations take ms, s, m, h.",
    YAML.stringify(value, { lineWidth: 0 }),
  ].join('\n');
  return { text, config: parseConfig(text, configDir) };
}

/** Validates, then writes `file` (mode 0640: it names paths and ports, no secrets); returns the config. */
export async function writeNewConfig(file: string, input: NewConfigInput): Promise<Config> {
  const { text, config } = renderNewConfig(input, path.dirname(file));
  await mkdir(path.dirname(file), { recursive: true });
  await writeFileAtomic(file, text, { mode: 0o640 });
  return config;
}
