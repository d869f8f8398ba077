// Wires the optional desired-state sources (desired.file, desired.git) to the desired-state
// service, and reports each source's health in status and events.
import path from 'node:path';
import type { Config } from '../config/config.js';
import { DesiredFileSource } from '../desired-state/file-source.js';
import { DesiredGitSource } from '../desired-state/git-source.js';
import type { DesiredStateService } from '../desired-state/revisions.js';
import { EventLog } from '../store/event-log.js';
import type { Loop } from '../reconciler/loop.js';
import type { Store } from '../store/store.js';

export interface SourceDeps {
  config: Config;
  desired: DesiredStateService;
  reconciler: Loop;
  store: Store;
  log: (line: string) => void;
}

export interface StartedSources {
  git: DesiredGitSource | null;
  close(): Promise<void>;
}

/** What the sources' callbacks use: the source errors in status, and events under the loop's policy. */
interface Reporting extends SourceDeps {
  events: EventLog;
}

export async function startDesiredSources(sourceDeps: SourceDeps): Promise<StartedSources> {
  const deps: Reporting = { ...sourceDeps, events: new EventLog(sourceDeps.store, undefined, sourceDeps.log) };
  const closers: Array<() => Promise<void>> = [];
  if (deps.config.desired.file) {
    const file = await startFileSource(deps, deps.config.desired.file);
    closers.push(() => file.close());
  }
  let git: DesiredGitSource | null = null;
  if (deps.config.desired.git) {
    git = await startGitSource(deps, deps.config.desired.git);
    closers.push(() => git!.close());
  }
  return {
    git,
    close: async () => {
      for (const close of closers) await close();
    },
  };
}

function refused(
  deps: Reporting,
  name: string,
  actor: string,
  message: string,
  data: Record<string, unknown> = {},
): void {
  deps.reconciler.setSourceError(name, message);
  void deps.events.record({ reason: 'DesiredRejected', message: `${name} refused: ${message}`, actor, data });
  deps.log(`${name} refused: ${message}`);
}

async function startFileSource(deps: Reporting, file: string): Promise<DesiredFileSource> {
  const name = `desired.file ${file}`;
  const source = new DesiredFileSource({
    file,
    service: deps.desired,
    onError: (err) => refused(deps, name, 'file', err.message),
    onRead: () => deps.reconciler.setSourceError(name, null),
    onWriteError: (err) => {
      void deps.events.record({
        reason: 'DesiredFileWriteFailed',
        message: `${name}: the latest revision could not be written to the file: ${err.message}`,
        actor: 'file',
      });
      deps.log(`${name}: cannot write the latest revision to the file: ${err.message}`);
    },
  });
  await source.start();
  return source;
}

async function startGitSource(deps: Reporting, git: NonNullable<Config['desired']['git']>): Promise<DesiredGitSource> {
  const name = `desired.git ${git.url}`;
  const source = new DesiredGitSource({
    ...git,
    workdir: path.join(deps.config.root, 'desired-repo'),
    service: deps.desired,
    onError: (err, { sha }) => refused(deps, name, 'git', sha ? `commit ${sha}: ${err.message}` : err.message, { sha }),
    onRead: () => deps.reconciler.setSourceError(name, null),
  });
  await source.start();
  return source;
}
