// hyperctl: host administration through the admin socket (its file mode is the auth).
import { cac } from 'cac';
import { loadConfig } from '../config/config.js';
import { reconcile } from './hyperctl/reconcile.js';
import { status } from './hyperctl/status.js';
import { rolesOf, usersAdd } from './hyperctl/users-add.js';
import { usersList } from './hyperctl/users-list.js';
import { usersPasswd } from './hyperctl/users-passwd.js';
import { usersRemove } from './hyperctl/users-remove.js';
import type { ApiClient } from './client.js';
import { UsageError, type OutputOptions } from './output.js';
import { runCli, runVerb } from './run.js';

const DEFAULT_CONFIG = '/etc/openhack/hypervisor.yaml';
const DEFAULT_SOCKET = '/run/openhack/hypervisor.sock';

const cli = cac('hyperctl');
cli.option('--config <path>', `the daemon's config, to find its admin socket (default ${DEFAULT_CONFIG})`);
cli.option('--socket <path>', `the admin socket (default: listen.admin of the config, or ${DEFAULT_SOCKET})`);
cli.option('--json', 'print JSON for scripts');

function socketOf(options: { socket?: string; config?: string }): { socketPath: string } {
  if (options.socket) return { socketPath: options.socket };
  const file = options.config ?? process.env.HYPERVISOR_CONFIG ?? DEFAULT_CONFIG;
  try {
    const admin = loadConfig(file).listen.admin;
    if (admin) return { socketPath: admin };
  } catch (err) {
    if (options.config) throw err;
  }
  return { socketPath: DEFAULT_SOCKET };
}

cli.command('status', 'the daemon, both colors, the active color, the last reconcile and problems')
  .example('hyperctl status --config ./hypervisor.yaml')
  .action((options) => runVerb(socketOf(options), options, (client) => status(client, options)));

cli.command('reconcile', 'run a reconcile pass now and print what it did')
  .example('hyperctl reconcile --json')
  .action((options) => runVerb(socketOf(options), options, (client) => reconcile(client, options)));

cli.command('users <verb> [name]', 'hyperusers: add NAME --role ROLE | list | remove NAME | passwd NAME (password from stdin when not a terminal)')
  .option('--role <role>', 'viewer, operator or admin (repeat or comma-separate for several)')
  .example('hyperctl users add alice --role operator')
  .example('printf %s "$PASSWORD" | hyperctl users passwd alice')
  .action((verb: string, name: string | undefined, options) => runVerb(socketOf(options), options, (client) => users(client, verb, name, options)));

function users(client: ApiClient, verb: string, name: string | undefined, options: OutputOptions & { role?: unknown }): Promise<number> {
  const needName = (): string => {
    if (name === undefined) throw new UsageError(`hyperctl users ${verb} needs a NAME`);
    return String(name);
  };
  switch (verb) {
    case 'add':
      return usersAdd(client, { name: needName(), roles: rolesOf(options.role) }, options);
    case 'list':
      return usersList(client, options);
    case 'remove':
      return usersRemove(client, needName(), options);
    case 'passwd':
      return usersPasswd(client, needName(), options);
    default:
      throw new UsageError(`unknown users verb ${JSON.stringify(verb)}: add, list, remove or passwd`);
  }
}

await runCli(cli);
