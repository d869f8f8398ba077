// hyper-cli: the operator's client, anywhere, as a hyperuser. `login` caches a short-lived token;
// every other verb sends it to the server it was issued by (and to no other).
import { cac } from 'cac';
import type { Endpoint } from './client.js';
import { events } from './hyper-cli/events.js';
import { login } from './hyper-cli/login.js';
import { logout } from './hyper-cli/logout.js';
import { logs } from './hyper-cli/logs.js';
import { pause } from './hyper-cli/pause.js';
import { plan } from './hyper-cli/plan.js';
import { releases } from './hyper-cli/releases.js';
import { resume } from './hyper-cli/resume.js';
import { rollback } from './hyper-cli/rollback.js';
import { stage } from './hyper-cli/stage.js';
import { status } from './hyper-cli/status.js';
import { switchTraffic } from './hyper-cli/switch.js';
import { whoami } from './hyper-cli/whoami.js';
import { runCli, runVerb } from './run.js';
import { normalizeServer, readSession } from './session.js';

const DEFAULT_SERVER = 'http://127.0.0.1:8080';

const cli = cac('hyper-cli');
cli.option('--server <url>', `hypervisor URL (default: $HYPER_SERVER, the server of the last login, or ${DEFAULT_SERVER})`);
cli.option('--json', 'print JSON for scripts');

interface ServerOption { server?: string }

function serverOf(options: ServerOption, sessionServer?: string): string {
  return normalizeServer(options.server || process.env.HYPER_SERVER || sessionServer || DEFAULT_SERVER);
}

/** The server, with the cached token when it was issued by that same server. */
async function endpoint(options: ServerOption): Promise<Endpoint> {
  const session = await readSession();
  const url = serverOf(options, session?.server);
  return session && session.server === url ? { url, token: session.token } : { url };
}

const act = (options: ServerOption & { json?: boolean }, run: Parameters<typeof runVerb>[2]): Promise<void> =>
  runVerb(() => endpoint(options), options, run);

cli.command('login', 'log in as a hyperuser; the token is cached for the other commands')
  .option('--user <name>', 'the hyperuser (asked for on a terminal)')
  .option('--password-stdin', 'read the password from stdin (otherwise it is asked for, hidden)')
  .example('printf %s "$PASSWORD" | hyper-cli login --user alice --password-stdin')
  .action(async (options) => {
    const server = serverOf(options, (await readSession())?.server);
    const args = { server, user: options.user === undefined ? undefined : String(options.user), passwordStdin: Boolean(options.passwordStdin) };
    await runVerb({ url: server }, options, (client) => login(client, args, options));
  });

cli.command('logout', 'end the session and forget the cached token')
  .action(async (options) => {
    const found = await endpoint(options);
    await runVerb(found, options, (client) => logout(client, found.token !== undefined, options));
  });

cli.command('whoami', 'the logged-in hyperuser and its roles').action((options) => act(options, (client) => whoami(client, options)));

cli.command('status', 'show both colors, the active one and what the loop waits for')
  .example('hyper-cli status --json')
  .action((options) => act(options, (client) => status(client, options)));

cli.command('stage <tag>', 'build and start a tag on a color (default: the inactive one)')
  .option('--color <color>', 'blue or green')
  .example('hyper-cli stage v26.11.27.1')
  .action((tag: string, options) => act(options, (client) => stage(client, { tag: String(tag), color: options.color }, options)));

cli.command('switch', 'move traffic to the other color once it is Ready')
  .option('--to <color>', 'blue or green')
  .example('hyper-cli switch --to green')
  .action((options) => act(options, (client) => switchTraffic(client, { to: options.to }, options)));

cli.command('rollback', 'move traffic back to the previously active color, if it is Ready')
  .action((options) => act(options, (client) => rollback(client, options)));

cli.command('pause', 'stop changing the host: the loop only observes and reports')
  .action((options) => act(options, (client) => pause(client, options)));

cli.command('resume', 'let the loop act again')
  .action((options) => act(options, (client) => resume(client, options)));

cli.command('plan', 'what the next reconcile pass would do (nothing is done)')
  .action((options) => act(options, (client) => plan(client, options)));

cli.command('releases', 'release records, newest first')
  .action((options) => act(options, (client) => releases(client, options)));

cli.command('logs <tag>', 'the build log of a release (--test: its test log)')
  .option('--test', 'the test log')
  .option('--follow', 'keep printing while the step runs')
  .example('hyper-cli logs v26.11.27.1 --follow')
  .action((tag: string, options) => act(options, (client) => logs(client, { tag: String(tag), kind: options.test ? 'test' : 'build', follow: Boolean(options.follow) })));

cli.command('events', 'the event trail (--follow: keep printing new events)')
  .option('--follow', 'keep printing new events')
  .action((options) => act(options, (client) => events(client, { follow: Boolean(options.follow) }, options)));

await runCli(cli);
