// hyper-cli: the operator's client, anywhere, as a hyperuser. `login` caches a short-lived token;
// every other verb sends it to the server it was issued by (and to no other).
import { cac } from 'cac';
import type { ApiClient, Endpoint } from './client.js';
import { colorFlag, durationFlag, integerFlag, stringFlag } from './flags.js';
import { configGet } from './hyper-cli/config-get.js';
import { configSet } from './hyper-cli/config-set.js';
import { desiredApply } from './hyper-cli/desired-apply.js';
import { desiredDiff } from './hyper-cli/desired-diff.js';
import { desiredGet } from './hyper-cli/desired-get.js';
import { events } from './hyper-cli/events.js';
import { history } from './hyper-cli/history.js';
import { login } from './hyper-cli/login.js';
import { logout } from './hyper-cli/logout.js';
import { logs } from './hyper-cli/logs.js';
import { notifyTest } from './hyper-cli/notify-test.js';
import { pause } from './hyper-cli/pause.js';
import { plan } from './hyper-cli/plan.js';
import { releases } from './hyper-cli/releases.js';
import { resume } from './hyper-cli/resume.js';
import { rollback } from './hyper-cli/rollback.js';
import { smoke } from './hyper-cli/smoke.js';
import { stage } from './hyper-cli/stage.js';
import { status } from './hyper-cli/status.js';
import { switchTraffic } from './hyper-cli/switch.js';
import { webhooks } from './hyper-cli/webhooks.js';
import { whoami } from './hyper-cli/whoami.js';
import { UsageError, type OutputOptions } from './output.js';
import { runCli, runVerb } from './run.js';
import { normalizeServer, readSession } from './session.js';

const DEFAULT_SERVER = 'http://127.0.0.1:8080';

const cli = cac('hyper-cli');
cli.option(
  '--server <url>',
  `hypervisor URL (default: $HYPER_SERVER, the server of the last login, or ${DEFAULT_SERVER})`,
);
cli.option('--json', 'print JSON for scripts');

interface ServerOption {
  server?: string;
}

function serverOf(options: ServerOption, sessionServer?: string): string {
  return normalizeServer(options.server || process.env.HYPER_SERVER || sessionServer || DEFAULT_SERVER);
}

/** The server, with the cached token when it was issued by that same server. */
async function endpoint(options: ServerOption): Promise<Endpoint> {
  const session = await readSession();
  const url = serverOf(options, session?.server);
  return session && session.server === url ? { url, token: session.token } : { url };
}

function logKind(options: { test?: boolean; smoke?: boolean }): 'build' | 'test' | 'smoke' {
  if (options.test && options.smoke) throw new UsageError('--test and --smoke name different logs: give one');
  return options.smoke ? 'smoke' : options.test ? 'test' : 'build';
}

const act = (options: ServerOption & { json?: boolean }, run: Parameters<typeof runVerb>[2]): Promise<void> =>
  runVerb(() => endpoint(options), options, run);

cli
  .command('login', 'log in as a hyperuser; the token is cached for the other commands')
  .option('--user <name>', 'the hyperuser (asked for on a terminal)')
  .option('--password-stdin', 'read the password from stdin (otherwise it is asked for, hidden)')
  .example('hyper-cli login --server https://deploy.example.org --user alice')
  .example('printf %s "$PASSWORD" | hyper-cli login --user alice --password-stdin')
  .action(async (options) => {
    const server = serverOf(options, (await readSession())?.server);
    const args = { server, user: stringFlag(options.user, '--user'), passwordStdin: Boolean(options.passwordStdin) };
    await runVerb({ url: server }, options, (client) => login(client, args, options));
  });

cli
  .command(
    'logout',
    'end the session with the server and forget the cached token (a session with another server is kept)',
  )
  .example('hyper-cli logout')
  .action(async (options) => {
    const found = await endpoint(options);
    const keptFor = found.token === undefined ? (await readSession())?.server : undefined;
    await runVerb(found, options, (client) => logout(client, found.token !== undefined, options, keptFor));
  });

cli
  .command('whoami', 'the logged-in hyperuser and its roles')
  .example('hyper-cli whoami --json')
  .action((options) => act(options, (client) => whoami(client, options)));

cli
  .command('status', 'both colors as a table, the active one, what the loop waits for, problems')
  .example('hyper-cli status')
  .example('hyper-cli status --json | jq .status.colors.green.phase')
  .action((options) => act(options, (client) => status(client, options)));

cli
  .command('releases', 'release records, newest first')
  .example('hyper-cli releases --json')
  .action((options) => act(options, (client) => releases(client, options)));

cli
  .command('logs <tag>', 'the build log of a release (--test: its test log, --smoke: its smoke log)')
  .option('--test', 'the test log')
  .option('--smoke', 'the log of its last smoke run')
  .option('--follow', 'keep printing while the step runs')
  .example('hyper-cli logs v26.11.27.1 --test')
  .example('hyper-cli logs v26.11.27.1 --smoke')
  .example('hyper-cli logs v26.11.27.1 --follow')
  .action((tag: string, options) =>
    act(options, (client) =>
      logs(client, { tag: String(tag), kind: logKind(options), follow: Boolean(options.follow) }, options),
    ),
  );

cli
  .command('stage <tag>', 'build and start a tag on a color (default: the inactive one); --wait follows it to Ready')
  .option('--color <color>', 'blue or green')
  .option('--wait', 'show progress through clone, build, test, start, ready; exit 0 once Ready, 1 if it fails')
  .option('--timeout <duration>', 'with --wait: give up (exit 4) after this long (default 30m)')
  .example('hyper-cli stage v26.11.27.1 --wait')
  .example('hyper-cli stage v26.11.27.1 --color green --json')
  .action((tag: string, options) =>
    act(options, (client) =>
      stage(
        client,
        {
          tag: String(tag),
          color: colorFlag(options.color, '--color'),
          wait: Boolean(options.wait),
          timeoutMs: durationFlag(options.timeout, '--timeout', '30m'),
        },
        options,
      ),
    ),
  );

cli
  .command('smoke <tag>', 'run the smoke gate again against the Ready color that runs the tag, and wait for it')
  .option('--timeout <duration>', 'give up waiting (exit 4) after this long (default 10m)')
  .example('hyper-cli smoke v26.11.27.1')
  .action((tag: string, options) =>
    act(options, (client) =>
      smoke(client, { tag: String(tag), timeoutMs: durationFlag(options.timeout, '--timeout', '10m') }, options),
    ),
  );

cli
  .command('switch', 'move traffic to the other color (or --to) once it is Ready; refused (exit 4) otherwise')
  .option('--to <color>', 'blue or green')
  .option('--now', 'skip the canary steps (gates.canary), or what is left of them: all traffic moves at once')
  .example('hyper-cli switch')
  .example('hyper-cli switch --to green')
  .example('hyper-cli switch --now')
  .action((options) =>
    act(options, (client) =>
      switchTraffic(client, { to: colorFlag(options.to, '--to'), now: Boolean(options.now) }, options),
    ),
  );

cli
  .command(
    'rollback',
    'move traffic back to the color that served before the last switch, if it still runs that tag and is Ready',
  )
  .example('hyper-cli rollback')
  .action((options) => act(options, (client) => rollback(client, options)));

cli
  .command('history', 'the deployments: which color served which tag, from when to when, switched by whom')
  .example('hyper-cli history')
  .example('hyper-cli history --json')
  .action((options) => act(options, (client) => history(client, options)));

cli
  .command('desired <verb>', 'the desired state: get | apply -f FILE | diff -f FILE (YAML or JSON; - is stdin)')
  .option('-f, --file <file>', 'the desired state to apply or compare')
  .option('--if-revision <n>', 'apply: only if the current revision is still N (exit 4 otherwise)')
  .option('--confirm-outage', 'apply: the change may leave no color serving (refused otherwise, exit 4)')
  .example('hyper-cli desired get > desired.yaml')
  .example('hyper-cli desired diff -f desired.yaml')
  .example('hyper-cli desired apply -f desired.yaml --if-revision 12')
  .action((verb: string, options) => act(options, (client) => desired(client, String(verb), options)));

function desired(
  client: ApiClient,
  verb: string,
  options: OutputOptions & { file?: unknown; ifRevision?: unknown; confirmOutage?: unknown },
): Promise<number> {
  const file = stringFlag(options.file, '--file');
  switch (verb) {
    case 'get':
      return desiredGet(client, options);
    case 'apply': {
      const ifRevision =
        options.ifRevision === undefined
          ? undefined
          : integerFlag(options.ifRevision, '--if-revision', 0, 1, Number.MAX_SAFE_INTEGER);
      return desiredApply(client, { file, ifRevision, confirmOutage: options.confirmOutage === true }, options);
    }
    case 'diff':
      return desiredDiff(client, file, options);
    default:
      throw new UsageError(`unknown desired verb ${JSON.stringify(verb)}: get, apply -f FILE or diff -f FILE`);
  }
}

cli
  .command('plan', 'what the next reconcile pass would do (nothing is done)')
  .example('hyper-cli plan --json')
  .action((options) => act(options, (client) => plan(client, options)));

cli
  .command('events', 'the event trail (--follow: keep printing new events)')
  .option('--follow', 'keep printing new events (with --json: one object per line)')
  .example('hyper-cli events')
  .example('hyper-cli events --follow --json')
  .action((options) => act(options, (client) => events(client, { follow: Boolean(options.follow) }, options)));

cli
  .command('notify <verb> <name>', 'notification targets: test NAME sends one test message and says how it went')
  .example('hyper-cli notify test team')
  .action((verb: string, name: string, options) =>
    act(options, (client) => {
      if (String(verb) !== 'test') throw new UsageError(`unknown notify verb ${JSON.stringify(verb)}: test NAME`);
      return notifyTest(client, String(name), options);
    }),
  );

cli
  .command('webhooks', 'the GitHub deliveries taken, oldest first, with what each led to (--follow: new ones too)')
  .option('--follow', 'keep printing new deliveries (with --json: one object per line)')
  .option('--since <duration>', 'how far back, like 30m or 168h (default 24h)')
  .example('hyper-cli webhooks')
  .example('hyper-cli webhooks --follow --json')
  .action((options) =>
    act(options, (client) =>
      webhooks(client, { follow: Boolean(options.follow), since: stringFlag(options.since, '--since') }, options),
    ),
  );

cli
  .command('config <verb> [key] [value]', 'the running config: get (secrets redacted) | set KEY VALUE (admins)')
  .example('hyper-cli config get')
  .example('hyper-cli config set policy.autoPromote true')
  .example("hyper-cli config set notify.0.on '[build_failed, test_failed]'")
  .action((verb: string, key: unknown, value: unknown, options) =>
    act(options, (client) => {
      if (String(verb) === 'get' && key === undefined) return configGet(client, options);
      if (String(verb) === 'set' && key !== undefined && value !== undefined)
        return configSet(client, String(key), String(value), options);
      throw new UsageError(`usage: hyper-cli config get | hyper-cli config set KEY VALUE`);
    }),
  );

cli
  .command('pause', 'stop changing the host: the loop only observes and reports')
  .example('hyper-cli pause')
  .action((options) => act(options, (client) => pause(client, options)));

cli
  .command('resume', 'let the loop act again')
  .example('hyper-cli resume')
  .action((options) => act(options, (client) => resume(client, options)));

await runCli(cli);
