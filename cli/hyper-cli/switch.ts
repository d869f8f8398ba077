// hyper-cli switch [--to C]: moves traffic to the other (or the given) color, once it is Ready.
import type { ChangeAnswer } from '../../api/wire.js';
import type { ApiClient } from '../client.js';
import { emit, type OutputOptions } from '../output.js';

export interface SwitchArgs {
  to?: string;
}

export async function switchTraffic(client: ApiClient, args: SwitchArgs, options: OutputOptions): Promise<number> {
  const answer = await client.post<ChangeAnswer>('/switch', args.to ? { to: args.to } : {});
  emit(options, answer, () => {
    const active = answer.active ?? answer.revision.doc.active;
    return answer.changed
      ? `traffic now goes to ${active} (revision ${answer.revision.number})`
      : `traffic already goes to ${active}`;
  });
  return 0;
}
