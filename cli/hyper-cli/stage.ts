// hyper-cli stage <tag> [--color C] [--wait]: puts a tag on a color (by default the inactive one);
// --wait follows it through clone, build, test, start and ready, and fails when it does.
import type { Color } from '../../common/types.js';
import type { ChangeAnswer } from '../../api/wire.js';
import type { ApiClient } from '../client.js';
import { emit, type OutputOptions } from '../output.js';
import { waitUntilReady } from './stage-wait.js';

export interface StageArgs {
  tag: string;
  color?: Color;
  /** Follow the tag until its color is Ready (or give up after `timeoutMs`). */
  wait: boolean;
  timeoutMs: number;
}

export async function stage(client: ApiClient, args: StageArgs, options: OutputOptions): Promise<number> {
  const answer = await client.post<ChangeAnswer>(
    '/stage',
    args.color ? { tag: args.tag, color: args.color } : { tag: args.tag },
  );
  const { doc, number } = answer.revision;
  // The API says which color it chose (desired-state/transitions.ts stagingColor): no rule here.
  const color: Color = answer.color!;
  const head = answer.changed
    ? `staged ${args.tag} on ${color} (revision ${number})`
    : `${args.tag} was already staged on ${color} (revision ${number})`;
  if (!args.wait) {
    emit(options, answer, () => (answer.waiting ? `${head}\n${answer.waiting}` : head));
    return 0;
  }
  if (!options.json) process.stdout.write(`${head}\n`);
  const followed = await waitUntilReady(client, {
    tag: args.tag,
    color,
    timeoutMs: args.timeoutMs,
    onStep: (p) => {
      if (!options.json) process.stdout.write(`${p.step.padEnd(6)} ${p.detail}\n`);
    },
  });
  emit(
    options,
    { ...answer, color, ready: true, steps: followed.steps, phase: followed.color, release: followed.release },
    () =>
      `${args.tag} is Ready on ` +
      `${color}${doc.active === color ? ' and serving' : `; hyper-cli switch --to ${color} moves traffic to it`}`,
  );
  return 0;
}
