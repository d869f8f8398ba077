// hyperctl status: the daemon (and, when setup installed it, its unit and build), both colors, the
// active color, the last reconcile and the problems, through the admin socket.
import { linkTarget, readInstallRecord } from '../../host/install-layout.js';
import type { StatusAnswer } from '../../api/wire.js';
import type { ApiClient } from '../client.js';
import { emit, formatStatus, problemsOf, type OutputOptions } from '../output.js';
import { serviceOf, type Host } from './host.js';

interface SelfInfo {
  unit: string;
  scope: string;
  /** In systemd's words (common/unit-state.ts describes them). */
  activeState: string;
  mainPid: number | null;
  build: string | null;
}

export async function status(client: ApiClient, host: Host | null, options: OutputOptions): Promise<number> {
  const answer = await client.get<StatusAnswer>('/status');
  const self = host ? await selfInfo(host) : null;
  const problems = problemsOf(answer.status);
  emit(options, { ...answer, self, problems }, () =>
    [
      `daemon   up since ${answer.daemon.startedAt}, version ${answer.daemon.version}, units ` +
        `${answer.daemon.driver}, store ${answer.daemon.store}`,
      ...(self
        ? [
            `unit     ${self.unit} (${self.scope}) ${self.activeState}, pid ${self.mainPid ?? '-'}, ` +
              `build ${self.build ?? '-'}`,
          ]
        : []),
      formatStatus(answer.status, answer.revision?.number ?? null),
    ].join('\n'),
  );
  return 0;
}

/** Host-side facts the API cannot know: which unit runs the daemon, from which build. */
async function selfInfo(host: Host): Promise<SelfInfo | null> {
  const record = await readInstallRecord(host.layout).catch(() => null);
  if (!record) return null;
  const state = await serviceOf(record)
    .state()
    .catch(() => null);
  return {
    unit: record.unit,
    scope: record.scope,
    activeState: state ? (state.unrecognized?.activeState ?? state.activeState) : 'unknown',
    mainPid: state?.mainPid ?? null,
    build: await linkTarget(host.layout.current),
  };
}
