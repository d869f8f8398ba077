// hyper-cli switch [--to C] [--now]: moves traffic to the other (or the given) color, once it is Ready;
// with gates.canary in steps, unless --now.
import type { ChangeAnswer, StatusAnswer, SwitchRequest } from '../../api/wire.js';
import type { ApiClient } from '../client.js';
import { emit, formatWeights, type OutputOptions } from '../output.js';

export interface SwitchArgs {
  to?: string;
  now?: boolean;
}

export async function switchTraffic(client: ApiClient, args: SwitchArgs, options: OutputOptions): Promise<number> {
  const request = { ...(args.to ? { to: args.to } : {}), ...(args.now ? { now: true } : {}) } as SwitchRequest;
  const answer = await client.post<ChangeAnswer>('/switch', request);
  const { status } = await client.get<StatusAnswer>('/status');
  emit(options, { ...answer, weights: status.weights }, () => {
    const wanted = answer.revision.doc.active;
    const weights = `weights ${formatWeights(status.weights)}`;
    if (status.canary && status.canary.to === wanted) {
      const moving = `traffic moves to ${wanted} in steps (revision ${answer.revision.number})`;
      return `${moving}: ${weights}; ${answer.waiting ?? ''}`;
    }
    return answer.changed
      ? `traffic now goes to ${answer.active ?? wanted} (revision ${answer.revision.number}): ${weights}`
      : `traffic already goes to ${answer.active ?? wanted}: ${weights}`;
  });
  return 0;
}
