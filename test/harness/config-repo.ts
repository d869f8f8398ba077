// A config repo for tests of the desired.git source: a bare "upstream" and an operator's clone
// that commits and pushes to it, as a person would from their own machine.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';

export interface ConfigRepo {
  /** The bare repository: what `desired.git.url` points at. */
  url: string;
  /** The operator's working tree and its git handle (pull, log, ...). */
  worktree: string;
  operator: SimpleGit;
  /** Writes `file` (folders created), commits it as the operator, pushes main; resolves with the SHA. */
  push(file: string, text: string, message: string): Promise<string>;
}

export async function createConfigRepo(dir: string): Promise<ConfigRepo> {
  const url = path.join(dir, 'deploy.git');
  const worktree = path.join(dir, 'operator');
  await simpleGit().init(['--bare', '--initial-branch=main', url]);
  await simpleGit().clone(url, worktree);
  const operator = simpleGit(worktree);
  await operator.addConfig('user.name', 'Ana Operator');
  await operator.addConfig('user.email', 'ana@example.invalid');
  await operator.raw(['checkout', '-b', 'main']);
  const push = async (file: string, text: string, message: string): Promise<string> => {
    await mkdir(path.dirname(path.join(worktree, file)), { recursive: true });
    await writeFile(path.join(worktree, file), text);
    await operator.add(['--', file]);
    await operator.commit(message);
    await operator.push('origin', 'main');
    return (await operator.revparse(['HEAD'])).trim();
  };
  return { url, worktree, operator, push };
}
