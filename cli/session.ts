// hyper-cli's login cache: the server, the user and the token, in a 0600 file
// (`$HYPER_CLI_SESSION`, or `$XDG_CONFIG_HOME/openhack/hyper-cli-session.json`). The token is
// short-lived by design; an expired one is dropped here rather than sent.
import { mkdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from '../common/atomic-write.js';

export interface CliSession {
  server: string;
  username: string;
  token: string;
  expiresAt: string;
}

export function sessionFile(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HYPER_CLI_SESSION) return path.resolve(env.HYPER_CLI_SESSION);
  const config = env.XDG_CONFIG_HOME ? path.resolve(env.XDG_CONFIG_HOME) : path.join(os.homedir(), '.config');
  return path.join(config, 'openhack', 'hyper-cli-session.json');
}

/** The cached session, or null when there is none, it is unreadable, or it has expired. */
export async function readSession(file = sessionFile()): Promise<CliSession | null> {
  const text = await readFile(file, 'utf8').catch(() => null);
  if (text === null) return null;
  try {
    const value = JSON.parse(text) as Partial<CliSession>;
    const complete =
      typeof value.server === 'string' &&
      typeof value.username === 'string' &&
      typeof value.token === 'string' &&
      typeof value.expiresAt === 'string';
    if (!complete || Date.parse(value.expiresAt!) <= Date.now()) return null;
    return value as CliSession;
  } catch {
    return null;
  }
}

/** Written to a 0600 temp file, fsynced, renamed: never readable by others, never half-written. */
export async function writeSession(session: CliSession, file = sessionFile()): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, `${JSON.stringify(session, null, 2)}\n`, { mode: 0o600 });
}

export async function removeSession(file = sessionFile()): Promise<void> {
  await rm(file, { force: true });
}

/** One spelling per server, so that the token is only ever sent where it was issued. */
export function normalizeServer(url: string): string {
  return url.replace(/\/+$/, '');
}
