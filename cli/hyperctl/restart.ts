// hyperctl restart: restarts the daemon's own unit and waits until the new daemon is healthy. The
// colors keep running and serving from their own units; the proxy is back once the daemon is.
import { CliError, emit, type OutputOptions } from '../output.js';
import { endpointOf, requireInstall, serviceOf, waitHealthy, type Host } from './host.js';

export async function restart(host: Host, args: { timeoutMs: number }, options: OutputOptions): Promise<number> {
  const record = await requireInstall(host);
  const service = serviceOf(record);
  const before = await service.state();
  const since = Date.now();
  await service.restart();
  const healthy = await waitHealthy(endpointOf(host.config), service, { deadlineMs: args.timeoutMs, since });
  if ('failed' in healthy) {
    throw new CliError(
      1,
      'not_healthy',
      `${record.unit} restarted but the daemon is not healthy: ${healthy.failed}; read hyperctl ` +
        'logs, then hyperctl doctor',
    );
  }
  const answer = {
    unit: record.unit,
    scope: record.scope,
    pidBefore: before.mainPid,
    pid: healthy.pid,
    startedAt: healthy.startedAt,
    healthyAfterMs: healthy.afterMs,
  };
  emit(
    options,
    answer,
    () =>
      `restarted ${record.unit}: pid ${before.mainPid ?? '-'} -> ${healthy.pid ?? '?'}, healthy ` +
      `after ${(healthy.afterMs / 1000).toFixed(1)} s`,
  );
  return 0;
}
