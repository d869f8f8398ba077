// A real git repository holding a copy of example/backend, for tests that need tags to build.
// Releases are cut by the backend's own RELEASE script, so the tests exercise it as operators do.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { simpleGit, type SimpleGit } from 'simple-git';

const run = promisify(execFile);
const SCRIPT_TIMEOUT_MS = 20_000;

export interface ExampleRepo {
  /** Absolute path of the repository (its working tree). */
  path: string;
  /** Runs RELEASE (`--set version` when given); resolves with the tag it printed. */
  release(version?: string): Promise<string>;
  /** Writes `name` (keeping the mode of a file it replaces) and commits it; resolves with the new commit SHA. */
  commitFile(name: string, content: string, message: string): Promise<string>;
}

/** The example backend's source folder, found upwards from this file (it runs from src or dist). */
export function exampleBackendDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'example', 'backend');
    if (existsSync(path.join(candidate, 'VERSION'))) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`example/backend not found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/** Copies example/backend into `dir` (created if needed), makes it a git repo and commits it. */
export async function createExampleRepo(dir: string): Promise<ExampleRepo> {
  const repo = path.resolve(dir);
  await cp(exampleBackendDir(), repo, { recursive: true });
  const git = simpleGit({ baseDir: repo, timeout: { block: SCRIPT_TIMEOUT_MS } });
  await git.init(['--quiet', '--initial-branch=main']);
  await git.addConfig('user.name', 'Example Tester');
  await git.addConfig('user.email', 'tester@example.invalid');
  await git.add(['--all']);
  await git.commit('Example backend');
  return {
    path: repo,
    release: (version) => release(repo, version),
    commitFile: (name, content, message) => commitFile(git, repo, name, content, message),
  };
}

async function release(repo: string, version?: string): Promise<string> {
  const args = [path.join(repo, 'RELEASE'), ...(version === undefined ? [] : ['--set', version])];
  const { stdout } = await run(process.execPath, args, { cwd: repo, timeout: SCRIPT_TIMEOUT_MS });
  return stdout.trim();
}

async function commitFile(
  git: SimpleGit,
  repo: string,
  name: string,
  content: string,
  message: string,
): Promise<string> {
  const file = path.join(repo, name);
  const mode = await stat(file).then(
    (s) => s.mode & 0o777,
    () => 0o644,
  );
  await writeFile(file, content, { mode });
  await git.add(['--', name]);
  const result = await git.commit(message);
  return git.revparse([result.commit || 'HEAD']);
}

export interface RunningBackend {
  port: number;
  /** Everything it printed so far. */
  output(): string;
  /** SIGTERM, then resolves with how it exited (SIGKILL after the deadline). */
  stop(deadlineMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts a backend executable on a free port (`--port 0`) and waits until it prints where it listens. */
export function startBackend(
  executable: string,
  args: { deployment: string; envRoot: string; version: string },
  deadlineMs = 10_000,
): Promise<RunningBackend> {
  const argv = [
    '--deployment',
    args.deployment,
    '--port',
    '0',
    '--env-root',
    args.envRoot,
    '--app-version',
    args.version,
  ];
  const child = spawn(executable, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const stop = async (stopDeadlineMs = 10_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> => {
    child.kill('SIGTERM');
    // A deadline, not a wait: a backend that ignores SIGTERM is killed; the exit is awaited as an event.
    const timer = setTimeout(() => child.kill('SIGKILL'), stopDeadlineMs);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };
  return new Promise((resolve, reject) => {
    // A deadline, not a wait: the "listening" line is awaited as output; a backend that never prints it fails.
    const timer = setTimeout(() => {
      void stop(0);
      reject(new Error(`${executable} did not listen within ${deadlineMs} ms; output: ${output}`));
    }, deadlineMs);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
      if (!match) return;
      clearTimeout(timer);
      resolve({ port: Number(match[1]), output: () => output, stop });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${executable} exited (code ${code}, signal ${signal}) before listening; output: ${output}`));
    });
  });
}
