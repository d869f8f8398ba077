// `hypervisor --config PATH`: loads and validates the config (a bad key stops here, naming it),
// starts the daemon, and stops it on SIGTERM/SIGINT without stopping the backends.
import { cac } from 'cac';
import { HypervisorError } from '../common/errors.js';
import { loadConfig } from '../config/config.js';
import { DAEMON_VERSION, startDaemon } from './daemon.js';

const cli = cac('hypervisor');
cli.option('--config <path>', 'config file', {
  default: process.env.HYPERVISOR_CONFIG ?? '/etc/openhack/hypervisor.yaml',
});
cli.help();
cli.version(DAEMON_VERSION);
const { options } = cli.parse();

if (!options.help && !options.version) {
  try {
    const config = loadConfig(String(options.config));
    const daemon = await startDaemon(config);
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
    process.exit(2);
  }
}
