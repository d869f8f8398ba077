// `hypervisor [--config PATH]`: loads and validates the config (a bad key stops here, naming it),
// starts the daemon, and stops it on SIGTERM/SIGINT without stopping the backends.
import { cac } from 'cac';
import { HypervisorError } from '../common/errors.js';
import { loadConfigSource } from '../config/overrides.js';
import { DAEMON_VERSION, startDaemon } from './daemon.js';
import { guardOutput } from './output-guard.js';

const DEFAULT_CONFIG = '/etc/openhack/hypervisor.yaml';
const KNOWN_OPTIONS = new Set(['--', 'config', 'help', 'h', 'version', 'v']);
/** Exit code when the daemon cannot start: a bad flag, a bad config, a host that cannot run it. */
const EXIT_CANNOT_START = 2;

const cli = cac('hypervisor');
cli.usage('[--config PATH]');
cli.option('--config <path>', `the config file (default: $HYPERVISOR_CONFIG, else ${DEFAULT_CONFIG})`);
cli.example('hypervisor --config /etc/openhack/hypervisor.yaml');
cli.example('HYPERVISOR_CONFIG=.demo/hypervisor.yaml hypervisor');
cli.help((sections) => [
  sections[0]!,
  {
    body: [
      'The openhack-hypervisor daemon: the public proxy, the API under /hypervisor/, the admin socket for',
      'hyperctl, and the loop that builds tags and runs them as the blue and green units. Every config key',
      'and its default: config/hypervisor.example.yaml. SIGTERM or Ctrl-C stops the daemon; the colors keep',
      'running and the next daemon adopts them. It exits 2 when it cannot start, saying why.',
    ].join('\n'),
  },
  ...sections.slice(1),
]);
cli.version(DAEMON_VERSION);
const { args, options } = cli.parse();

if (!options.help && !options.version) {
  const unknown = [
    ...Object.keys(options)
      .filter((key) => !KNOWN_OPTIONS.has(key))
      .map((key) => `option --${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`),
    ...args.map((arg) => `argument ${JSON.stringify(arg)}`),
  ];
  if (unknown.length > 0) {
    console.error(`hypervisor: unknown ${unknown.join(', ')}; hypervisor --help lists the options`);
    process.exit(EXIT_CANNOT_START);
  }
  await run(String(options.config ?? process.env.HYPERVISOR_CONFIG ?? DEFAULT_CONFIG));
}

async function run(configPath: string): Promise<void> {
  guardOutput();
  try {
    const { config, source } = loadConfigSource(configPath);
    const daemon = await startDaemon(config, console.log, source);
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      console.log(`hypervisor: ${signal}, stopping (backends keep running)`);
      void daemon.close().then(() => process.exit(0));
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  } catch (err) {
    const message = err instanceof HypervisorError ? err.message : ((err as Error).stack ?? String(err));
    console.error(`hypervisor: cannot start: ${message}`);
    process.exit(EXIT_CANNOT_START);
  }
}
