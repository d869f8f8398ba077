// Runs one CLI verb: builds the client, maps errors to the documented exit codes.
import type { CAC } from 'cac';
import { ApiClient, type Endpoint } from './client.js';
import { fail } from './failure.js';
import { EXIT, type OutputOptions } from './output.js';

const VERSION = '0.1.0';

/** `endpoint` may be found lazily (hyper-cli reads its session file); a failure there exits like the verb's. */
export async function runVerb(
  endpoint: Endpoint | (() => Promise<Endpoint>),
  options: OutputOptions,
  verb: (client: ApiClient) => Promise<number>,
): Promise<void> {
  let client: ApiClient | null = null;
  try {
    client = new ApiClient(typeof endpoint === 'function' ? await endpoint() : endpoint);
    process.exitCode = await verb(client);
  } catch (err) {
    process.exitCode = fail(options, err);
  } finally {
    await client?.close();
  }
}

/** Parses argv and runs the matched verb; no verb or a bad flag is a usage error (exit 2). */
export async function runCli(cli: CAC): Promise<void> {
  cli.help();
  cli.version(VERSION);
  try {
    cli.parse(process.argv, { run: false });
    if (!cli.matchedCommand && !cli.options.help && !cli.options.version) {
      const [unknown] = cli.args;
      if (unknown !== undefined)
        process.stderr.write(`error: unknown command ${JSON.stringify(unknown)}; the commands are below\n`);
      cli.outputHelp();
      process.exitCode = EXIT.usage;
      return;
    }
    await cli.runMatchedCommand();
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n`);
    process.exitCode = EXIT.usage;
  }
}
