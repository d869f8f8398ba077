// hyperctl: host administration. Verbs about the loop go through the admin socket (its file mode is
// the auth); setup, upgrade, restart, logs and doctor act on this host's files and units directly.
import { cac } from 'cac';
import { NEW_CONFIG_DEFAULTS } from '../host/new-config.js';
import { DEFAULT_UNIT } from '../host/daemon-unit.js';
import { backup, restore } from './hyperctl/backup.js';
import { doctor } from './hyperctl/doctor.js';
import { loadHost, type Host } from './hyperctl/host.js';
import { DEFAULT_CONFIG, DEMO_CONFIG } from './hyperctl/which-config.js';
import { logs } from './hyperctl/logs.js';
import { reconcile } from './hyperctl/reconcile.js';
import { restart } from './hyperctl/restart.js';
import { setup } from './hyperctl/setup.js';
import { setupArgs } from './hyperctl/setup-args.js';
import { status } from './hyperctl/status.js';
import { upgrade } from './hyperctl/upgrade.js';
import { users } from './hyperctl/users.js';
import type { ApiClient } from './client.js';
import { colorFlag, durationFlag, integerFlag, stringFlag } from './flags.js';
import { fail } from './failure.js';
import type { OutputOptions } from './output.js';
import { runCli, runVerb } from './run.js';

const DEFAULT_SOCKET = '/run/openhack/hypervisor.sock';

const cli = cac('hyperctl');
cli.option(
  '--config <path>',
  `the daemon's config (default: $HYPERVISOR_CONFIG, else ${DEMO_CONFIG} here when npm start wrote ` +
    `one, else ${DEFAULT_CONFIG})`,
);
cli.option('--socket <path>', `the admin socket (default: listen.admin of the config, or ${DEFAULT_SOCKET})`);
cli.option('--json', 'print JSON for scripts');

interface GlobalOptions extends OutputOptions {
  config?: string;
  socket?: string;
}

/** The config; with --socket it is optional (status then shows less), without it the config names the socket. */
function optionalHost(options: GlobalOptions): Host | null {
  try {
    return loadHost(options);
  } catch (err) {
    if (!options.socket) throw err;
    return null;
  }
}

/** --socket, else the config's listen.admin, else the default. */
function socketOf(options: GlobalOptions, host: Host | null): { socketPath: string } {
  return { socketPath: options.socket ?? host?.config.listen.admin ?? DEFAULT_SOCKET };
}

/** A verb that talks to the daemon over its admin socket. */
async function throughSocket(
  options: GlobalOptions,
  verb: (client: ApiClient, host: Host | null) => Promise<number>,
): Promise<void> {
  let host: Host | null;
  try {
    host = optionalHost(options);
  } catch (err) {
    process.exitCode = fail(options, err);
    return;
  }
  await runVerb(socketOf(options, host), options, (client) => verb(client, host));
}

/** A host-side verb: no API client, the same exit codes and error output. */
async function local(options: OutputOptions, verb: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await verb();
  } catch (err) {
    process.exitCode = fail(options, err);
  }
}

cli
  .command(
    'setup',
    "set this host up: folders, a config if none, the daemon's unit, lingering, the daemon, a first " +
      'admin; a second run changes nothing',
  )
  .option(
    '--user',
    'install a unit of your user manager ($XDG_CONFIG_HOME/systemd/user) instead of /etc/systemd/system',
  )
  .option('--unit-name <name>', `the daemon's unit (default ${DEFAULT_UNIT})`)
  .option(
    '--admin <name>',
    'the first admin hyperuser, created when there is none; its password is asked for, or read from ' +
      'stdin (default admin)',
  )
  .option('--timeout <duration>', 'how long the daemon may take to become healthy (default 60s)')
  .option(
    '--app-name <name>',
    `new config only: the backend's name, in its unit names (default ${NEW_CONFIG_DEFAULTS.appName})`,
  )
  .option('--app-repo <path|url>', `new config only: the backend's git repo (default ${NEW_CONFIG_DEFAULTS.appRepo})`)
  .option('--root <dir>', `new config only: where releases, logs and state live (default ${NEW_CONFIG_DEFAULTS.root})`)
  .option('--listen <host:port>', `new config only: the public proxy and API (default ${NEW_CONFIG_DEFAULTS.listen})`)
  .option(
    '--preview <host:port>',
    `new config only: the inactive color, or "false" (default ${NEW_CONFIG_DEFAULTS.preview})`,
  )
  .option('--ports <blue,green>', `new config only: the colors' ports (default ${NEW_CONFIG_DEFAULTS.ports})`)
  .option('--admin-socket <path>', `new config only: hyperctl's socket (default ${NEW_CONFIG_DEFAULTS.adminSocket})`)
  .option('--driver <systemd|process>', 'new config only: how colors run (default systemd)')
  .example(
    'printf %s "$ADMIN_PASSWORD" | sudo hyperctl setup --app-repo https://github.com/OpenLabsRo/openhack-backend.git',
  )
  .example(
    'hyperctl setup --user --config ~/.config/openhack/hypervisor.yaml --root ~/openhack --listen 127.0.0.1:8080',
  )
  .action((options) => local(options, () => setup(setupArgs(options), options)));

cli
  .command(
    'upgrade',
    "build a tag of the hypervisor's repo (fetch, install, test, build), switch the daemon to it, " +
      'and go back if it is not healthy in time',
  )
  .option('--to <tag>', 'the tag to run (default: the newest tag of the repo)')
  .option('--repo <path|url>', "the hypervisor's repo (default: the repo the running build came from)")
  .option('--test-command <cmd>', 'the tests a build must pass, run in its folder (default "npm test")')
  .option(
    '--install-command <cmd>',
    "installs dependencies (default: link the running build's node_modules when package-lock.json " +
      'is the same, else "npm ci")',
  )
  .option('--build-command <cmd>', 'builds it (default "npm run build")')
  .option('--timeout <duration>', 'how long the new daemon has to become healthy (default 60s)')
  .option('--step-timeout <duration>', 'the longest one install, test or build may take (default 30m)')
  .option('--keep <n>', 'builds kept besides the current and previous one (default 3)')
  .example('hyperctl upgrade --to v0.2.0')
  .example('hyperctl upgrade --repo https://github.com/OpenLabsRo/openhack-hypervisor.git --json')
  .action((options) =>
    local(options, () =>
      upgrade(
        loadHost(options),
        {
          to: stringFlag(options.to, '--to'),
          repo: stringFlag(options.repo, '--repo'),
          installCommand: stringFlag(options.installCommand, '--install-command') ?? null,
          testCommand: stringFlag(options.testCommand, '--test-command') ?? 'npm test',
          buildCommand: stringFlag(options.buildCommand, '--build-command') ?? 'npm run build',
          timeoutMs: durationFlag(options.timeout, '--timeout', '60s'),
          stepTimeoutMs: durationFlag(options.stepTimeout, '--step-timeout', '30m'),
          keep: integerFlag(options.keep, '--keep', 3, 0, 100),
        },
        options,
      ),
    ),
  );

cli
  .command('restart', "restart the daemon's unit and wait until it is healthy (the colors keep running)")
  .option('--timeout <duration>', 'how long the daemon may take to become healthy (default 60s)')
  .example('hyperctl restart --config /etc/openhack/hypervisor.yaml')
  .action((options) =>
    local(options, () =>
      restart(loadHost(options), { timeoutMs: durationFlag(options.timeout, '--timeout', '60s') }, options),
    ),
  );

cli
  .command('status', 'the daemon, both colors, the active color, the last reconcile and problems')
  .example('hyperctl status --config ./hypervisor.yaml')
  .example('hyperctl status --json | jq .problems')
  .action((options) => throughSocket(options, (client, host) => status(client, host, options)));

cli
  .command('logs', "the daemon's log, or a color's (--color); -f keeps printing")
  .option('--color <color>', "blue or green: what that color's backend printed")
  .option('-f, --follow', 'keep printing new lines until Ctrl-C')
  .option('-n, --lines <n>', 'how many of the last lines (default 100)')
  .example('hyperctl logs -f')
  .example('hyperctl logs --color green -n 20')
  .action((options) =>
    local(options, () =>
      logs(
        loadHost(options),
        {
          color: colorFlag(options.color, '--color'),
          follow: Boolean(options.follow),
          lines: integerFlag(options.lines, '--lines', 100, 1, 100_000),
        },
        options,
      ),
    ),
  );

cli
  .command('reconcile', 'run a reconcile pass now and print what it did')
  .example('hyperctl reconcile --json')
  .action((options) => throughSocket(options, (client) => reconcile(client, options)));

cli
  .command(
    'doctor',
    'check what the daemon needs from this host: config, daemon, user manager, lingering, ports, ' +
      'store, disk; each with a fix',
  )
  .example('hyperctl doctor --config /etc/openhack/hypervisor.yaml')
  .action((options) => local(options, () => doctor(options)));

cli
  .command(
    'backup <path>',
    'copy the embedded store to PATH (a new file, 0600), consistent while the daemon runs, and check the copy',
  )
  .example('hyperctl backup /var/backups/hypervisor-$(date +%F).db')
  .action((target: string, options) => local(options, () => backup(loadHost(options), String(target), options)));

cli
  .command(
    'restore <path>',
    'replace the embedded store with the backup at PATH once it passes quick_check; the daemon must ' +
      'be stopped; the old file is kept aside',
  )
  .example(
    'systemctl stop openhack-hypervisor && hyperctl restore /var/backups/hypervisor-2026-11-27.db && hyperctl restart',
  )
  .action((from: string, options) => local(options, () => restore(loadHost(options), String(from), options)));

cli
  .command(
    'users <verb> [name]',
    'hyperusers: add NAME --role ROLE | list | remove NAME | passwd NAME (password from stdin when not a terminal)',
  )
  .option('--role <role>', 'viewer, operator or admin (repeat or comma-separate for several)')
  .example('hyperctl users add alice --role operator')
  .example('printf %s "$PASSWORD" | hyperctl users passwd alice')
  .example('hyperctl users list --json')
  .action((verb: string, name: string | undefined, options) =>
    throughSocket(options, (client) => users(client, verb, name, options)),
  );

await runCli(cli);
