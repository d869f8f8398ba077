// hyperctl backup PATH and hyperctl restore PATH: the embedded store's file out (while the daemon
// runs) and back in (while it does not). Exit 0 done, 1 failed (a damaged store or backup),
// 2 usage (a MongoDB store, a missing backup, a target that exists), 4 the daemon still runs.
import { HypervisorError } from '../../common/errors.js';
import { BackupUsageError, backupStore, restoreStore, StoreInUseError } from '../../host/store-backup.js';
import { CliError, emit, EXIT, type OutputOptions } from '../output.js';
import type { Host } from './host.js';

export async function backup(host: Host, target: string, options: OutputOptions): Promise<number> {
  const copy = await asCliError(() => backupStore(host.config.store, target));
  emit(options, copy, () => `backed up ${storePath(host)} to ${copy.file} (${copy.pages} pages, ${copy.detail})`);
  return 0;
}

export async function restore(host: Host, from: string, options: OutputOptions): Promise<number> {
  const result = await asCliError(() => restoreStore(host.config.store, from));
  emit(options, result, () =>
    [
      `restored ${result.file} from ${result.from} (${result.pages} pages, ${result.detail})`,
      result.keptAside ? `the file it replaced is kept at ${result.keptAside}` : 'there was no store file before',
      'start the daemon again (hyperctl restart, or systemctl start its unit)',
    ].join('\n'),
  );
  return 0;
}

function storePath(host: Host): string {
  return host.config.store.kind === 'embedded' ? host.config.store.path : host.config.store.database;
}

async function asCliError<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof BackupUsageError) throw new CliError(EXIT.usage, err.code, err.message);
    if (err instanceof StoreInUseError) throw new CliError(EXIT.conflict, err.code, err.message);
    if (err instanceof HypervisorError) throw new CliError(EXIT.failed, err.code, err.message);
    throw err;
  }
}
