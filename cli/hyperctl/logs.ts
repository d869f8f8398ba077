// hyperctl logs [--color blue|green] [-f] [-n N]: the daemon's own log, or a color's (what its
// backend prints), read from the files on this host; -f keeps printing until Ctrl-C.
import path from 'node:path';
import type { Color } from '../../common/types.js';
import { CliError, emit, type OutputOptions } from '../output.js';
import { followFile, readTail, untilInterrupted } from '../tail.js';
import type { Host } from './host.js';

export interface LogsArgs {
  color?: Color;
  follow: boolean;
  lines: number;
}

export async function logs(host: Host, args: LogsArgs, options: OutputOptions): Promise<number> {
  const file = args.color ? path.join(host.config.root, 'logs', `${args.color}.log`) : host.layout.daemonLog;
  const tail = await readTail(file, args.lines);
  if (tail === null) {
    const why = args.color
      ? `${args.color} has not run yet (hyper-cli stage TAG --color ${args.color})`
      : 'the daemon has not written its log there yet (a daemon installed by hyperctl setup does, ' +
        'and so does npm start)';
    throw new CliError(1, 'no_log', `no log at ${file}: ${why}`);
  }
  if (!args.follow) {
    emit(options, { file, lines: tail.lines }, () => tail.lines.join('\n'));
    return 0;
  }
  // Followed output is a stream: with --json one object per line, each parsable on its own.
  const print = (line: string): void => {
    process.stdout.write(options.json ? `${JSON.stringify({ file, line })}\n` : `${line}\n`);
  };
  tail.lines.forEach(print);
  let pending = '';
  await followFile(
    file,
    tail.size,
    (text) => {
      const lines = (pending + text).split('\n');
      pending = lines.pop() ?? '';
      lines.forEach(print);
    },
    untilInterrupted(),
  );
  return 0;
}
