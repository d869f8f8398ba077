// hyper-cli login [--user NAME] [--password-stdin]: logs in and caches the token (0600 file).
import type { LoginAnswer } from '../../api/wire.js';
import type { ApiClient } from '../client.js';
import { emit, UsageError, type OutputOptions } from '../output.js';
import { isInteractive, promptHidden, promptLine, readStdinSecret } from '../prompt.js';
import { writeSession } from '../session.js';

export interface LoginArgs {
  server: string;
  user?: string;
  passwordStdin?: boolean;
}

export async function login(client: ApiClient, args: LoginArgs, options: OutputOptions): Promise<number> {
  const username = args.user ?? (isInteractive() ? await promptLine('username: ') : null);
  if (!username) throw new UsageError('give --user NAME (there is no terminal to ask on)');
  const password = await readPassword(args);
  const answer = await client.post<LoginAnswer>('/auth/login', { username, password });
  await writeSession({
    server: args.server,
    username: answer.username,
    token: answer.token,
    expiresAt: answer.expiresAt,
  });
  const shown = { server: args.server, username: answer.username, roles: answer.roles, expiresAt: answer.expiresAt };
  emit(
    options,
    shown,
    () => `logged in to ${args.server} as ${answer.username} (${answer.roles.join(', ')}) until ${answer.expiresAt}`,
  );
  return 0;
}

async function readPassword(args: LoginArgs): Promise<string> {
  if (args.passwordStdin) return readStdinSecret();
  if (isInteractive()) return promptHidden('password: ');
  throw new UsageError('no terminal to ask for the password on: pipe it in with --password-stdin');
}
