// An operator as the CLI makes one on a test host: `hyperctl users add` over the admin socket
// (the password on stdin), then `hyper-cli login`, whose session file then holds the token.
import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import { runBin } from '../../harness/daemon-process.js';

export interface OperatorLogin {
  /** The daemon's admin socket and public origin. */
  socket: string;
  publicUrl: string;
  /** Where hyper-cli keeps the session (HYPER_CLI_SESSION). */
  sessionFile: string;
  username: string;
  password: string;
  /** @default 'operator' */
  role?: 'viewer' | 'operator' | 'admin';
}

/** Adds the operator, logs in with hyper-cli, and returns the token it cached. */
export async function loginOperator(o: OperatorLogin): Promise<string> {
  const env = { ...process.env, HYPER_CLI_SESSION: o.sessionFile };
  const added = await runBin(
    'hyperctl',
    ['users', 'add', o.username, '--role', o.role ?? 'operator', '--socket', o.socket],
    env,
    o.password,
  );
  expect(added.code, added.stderr).to.equal(0);
  const login = await runBin(
    'hyper-cli',
    ['login', '--user', o.username, '--password-stdin', '--server', o.publicUrl],
    env,
    o.password,
  );
  expect(login.code, login.stderr + login.stdout).to.equal(0);
  return (JSON.parse(await readFile(o.sessionFile, 'utf8')) as { token: string }).token;
}
