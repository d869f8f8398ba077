// hyperctl setup [--user]: makes this host run the hypervisor. Each step looks before it acts, so a
// second run finds everything in place and changes nothing: the config (written only when there is
// none), the folders, the first build link, lingering, the daemon's own unit, the daemon running and
// healthy, and a first admin hyperuser (its password asked for on a terminal, or read from stdin).
import { isRunning } from '../../common/unit-state.js';
import type { Config } from '../../config/config.js';
import { installLayout, type InstallLayout } from '../../host/install-layout.js';
import { invokingUserEnv, type DaemonService } from '../../host/daemon-unit.js';
import { ApiClient } from '../client.js';
import type { UserAnswer } from '../../api/wire.js';
import { CliError, emit, UsageError, type OutputOptions } from '../output.js';
import { newPassword } from '../prompt.js';
import { readTail } from '../tail.js';
import { endpointOf, publicUrl, waitHealthy } from './host.js';
import {
  ensureBuildLink,
  ensureConfig,
  ensureFolders,
  ensureUnit,
  lingering,
  requireManager,
  type Context,
  type SetupArgs,
  type SetupStep,
} from './setup-host.js';

export async function setup(args: SetupArgs, options: OutputOptions): Promise<number> {
  const steps: SetupStep[] = [];
  const report = (step: SetupStep): void => {
    steps.push(step);
    if (!options.json) process.stdout.write(`${formatStep(step)}\n`);
  };
  const ctx: Context = { args, env: invokingUserEnv(), report };
  await requireManager(ctx);
  const config = await ensureConfig(ctx);
  const layout = installLayout(config.root);
  await ensureFolders(ctx, config, layout);
  const linked = await ensureBuildLink(ctx, layout);
  await lingering(ctx);
  const { service, changed: unitChanged } = await ensureUnit(ctx, config, layout);
  await ensureDaemon(ctx, config, layout, service, unitChanged || linked);
  await ensureAdmin(ctx, config);
  const changed = steps.some((s) => s.status === 'changed');
  const server = publicUrl(config);
  emit(options, { changed, steps, server, unit: service.unit, scope: args.scope }, () =>
    changed
      ? `setup done; log in with: hyper-cli login --server ${server} --user ${args.admin}`
      : 'setup: nothing changed, everything was in place',
  );
  return 0;
}

function formatStep(step: SetupStep): string {
  const word = step.status === 'changed' ? 'changed' : step.status === 'unchanged' ? 'ok' : 'warning';
  return `${step.step.padEnd(10)} ${word.padEnd(8)} ${step.detail}${step.fix ? `; fix: ${step.fix}` : ''}`;
}

/** Started when it is not running, restarted when its unit or build changed, left alone otherwise. */
async function ensureDaemon(
  ctx: Context,
  config: Config,
  layout: InstallLayout,
  service: DaemonService,
  changed: boolean,
): Promise<void> {
  const before = await service.state();
  const running = isRunning(before);
  const since = Date.now();
  if (!running) await service.start();
  else if (changed) await service.restart();
  const healthy = await waitHealthy(endpointOf(config), service, {
    deadlineMs: ctx.args.timeoutMs,
    since: running && !changed ? 0 : since,
  });
  if ('failed' in healthy) {
    const tail = (await readTail(layout.daemonLog, 15))?.lines.join('\n') ?? '(no log yet)';
    throw new CliError(
      1,
      'not_healthy',
      `the daemon is not healthy: ${healthy.failed}; its log (${layout.daemonLog}) ends ` +
        `with:\n${tail}\nfix what it says, then run setup again (hyperctl doctor checks the usual suspects)`,
    );
  }
  const how = !running ? 'started' : changed ? 'restarted' : 'running';
  ctx.report({
    step: 'daemon',
    status: how === 'running' ? 'unchanged' : 'changed',
    detail: `${how}, healthy (pid ${healthy.pid ?? '?'}, up since ${healthy.startedAt}) at ${publicUrl(config)}`,
  });
}

/** Through the admin socket (its file mode is the auth): there is no hyperuser to log in as yet. */
async function ensureAdmin(ctx: Context, config: Config): Promise<void> {
  if (!config.listen.admin) {
    return ctx.report({
      step: 'admin',
      status: 'warning',
      detail: 'listen.admin is off, so setup cannot create the first hyperuser',
      fix: 'set listen.admin to a socket path, restart, and run setup again',
    });
  }
  const client = new ApiClient({ socketPath: config.listen.admin });
  try {
    const { users } = await client.get<{ users: UserAnswer[] }>('/users');
    const admins = users.filter((u) => u.roles.includes('admin'));
    if (admins.length > 0) {
      return ctx.report({
        step: 'admin',
        status: 'unchanged',
        detail: `hyperuser ${admins.map((u) => u.username).join(', ')} has the admin role`,
      });
    }
    const password = await newPassword();
    if (password === '')
      throw new UsageError(
        `no password for the first admin ${ctx.args.admin}: pipe it on stdin, or run setup on a terminal to be asked`,
      );
    const { user } = await client.post<{ user: UserAnswer }>('/users', {
      username: ctx.args.admin,
      password,
      roles: ['admin'],
    });
    ctx.report({ step: 'admin', status: 'changed', detail: `created hyperuser ${user.username} (admin)` });
  } finally {
    await client.close();
  }
}
