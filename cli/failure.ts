// The one place where something that went wrong becomes what an operator reads: an exit code of
// the README's table, a stable code for --json, and words about the CLI rather than HTTP ("not
// logged in: run hyper-cli login", not a 401 body). The API's messages about the domain (a color
// not Ready, an unknown tag) are already written for people and pass through as they are.
import { HypervisorError, ValidationError } from '../common/errors.js';
import { ApiError } from './client.js';
import { CliError, EXIT, UsageError, type ExitCode, type OutputOptions } from './output.js';

export interface Failure {
  exitCode: ExitCode;
  /** The API's error code, or the CLI's own (`usage`, `failed`, a verb's). */
  code: string;
  message: string;
}

export function failureOf(err: unknown): Failure {
  if (err instanceof UsageError) return { exitCode: EXIT.usage, code: 'usage', message: err.message };
  // A bad config file or flag value: the operator fixes the input, as with any usage error.
  if (err instanceof ValidationError) return { exitCode: EXIT.usage, code: err.code, message: err.message };
  if (err instanceof CliError) return { exitCode: err.exitCode, code: err.code, message: err.message };
  if (err instanceof ApiError) return { exitCode: exitCodeOf(err), code: err.code, message: wordsFor(err) };
  if (err instanceof HypervisorError) return { exitCode: EXIT.failed, code: 'failed', message: err.message };
  return { exitCode: EXIT.failed, code: 'failed', message: err instanceof Error ? err.message : String(err) };
}

/** Prints the failure (one JSON document with --json, one line on stderr otherwise); returns the exit code. */
export function fail(options: OutputOptions, err: unknown): number {
  const failure = failureOf(err);
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ error: { code: failure.code, message: failure.message } })}\n`);
  } else {
    process.stderr.write(`error: ${failure.message}\n`);
  }
  return failure.exitCode;
}

function exitCodeOf(err: ApiError): ExitCode {
  // Another server's 404 or 502 says nothing about the request: the server is what is wrong.
  if (err.code === 'not_the_api') return EXIT.failed;
  const status = err.status;
  if (status === 401 || status === 403) return EXIT.auth;
  // 412: a stale If-Match (`--if-revision`), a conflict like any other for a script.
  if (status === 409 || status === 412) return EXIT.conflict;
  if (status === 400 || status === 404 || status === 413) return EXIT.usage;
  return EXIT.failed;
}

/** The API's answer in the CLI's words, where its own words are about HTTP. */
function wordsFor(err: ApiError): string {
  switch (err.code) {
    case 'unreachable':
      return `${err.message}: is the daemon running? On its host, hyperctl doctor says what is wrong`;
    case 'not_the_api':
      return (
        `${err.where} is not a hypervisor's API (it answered ` +
        `${err.message.slice(0, 80).trim()}): check --server or $HYPER_SERVER`
      );
    case 'invalid_credentials':
      // Nothing more: whether the user exists is not for a failed login to say.
      return 'wrong username or password';
    case 'unauthorized':
      return err.withToken
        ? `the session with ${err.where} is over (it expired or was ended, or the hyperuser ` +
            `changed): run hyper-cli login --server ${err.where}`
        : `not logged in to ${err.where}: run hyper-cli login --server ${err.where}`;
    case 'stale_revision':
      return `${err.message} (hyper-cli desired get shows the current one)`;
    case 'too_large':
      return 'what was sent is larger than the hypervisor accepts';
    case 'internal':
      return 'the hypervisor failed on this request; its log says why (on its host: hyperctl logs)';
    default:
      return err.message;
  }
}
