// hyperctl setup [--user]: makes this host run the hypervisor. Each step looks before it acts, so a
// second run finds everything in place and changes nothing: the config (written only when there is
// none), the folders, the first build link, lingering, the daemon's own unit, the daemon running and
// healthy, and a first admin hyperuser (its password asked for on a terminal, or read from stdin).
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { LOG_DIR_MODE, PRIVATE_DIR_MODE } from '../../common/file-modes.js';
import { isRunning } from '../../common/unit-state.js';
import path from 'node:path';
import { loadConfig, type Config } from '../../config/config.js';
import { currentUser, ensureLinger, lingerFix } from '../../host/linger.js';
import {
  linkTarget,
  pointLink,
  runningBuildDir,
  installLayout,
  writeInstallRecord,
  type InstallLayout,
  type UnitScope,
} from '../../host/install-layout.js';
import { writeNewConfig, type NewConfigInput } from '../../host/new-config.js';
import {
  installDaemonUnit,
  invokingUserEnv,
  DaemonService,
  systemBootedWithSystemd,
  userManagerAnswers,
} from '../../host/daemon-unit.js';
import { ApiClient } from '../client.js';
import type { UserAnswer } from '../../api/wire.js';
import { CliError, emit, UsageError, type OutputOptions } from '../output.js';
import { newPassword } from '../prompt.js';
import { readTail } from '../tail.js';
import { endpointOf, publicUrl, waitHealthy } from './host.js';

export interface SetupArgs {
  scope: UnitScope;
  configPath: string;
  unit: string;
  /** The first admin hyperuser's name. */
  admin: string;
  timeoutMs: number;
  newConfig: NewConfigInput;
  /** Flags given that only shape a new config: named in a note when a config exists already. */
  configFlags: string[];
}

export interface SetupStep {
  step: string;
  status: 'changed' | 'unchanged' | 'warning';
  detail: string;
  fix?: string;
}

interface Context {
  args: SetupArgs;
  env: ReturnType<typeof invokingUserEnv>;
  report: (step: SetupStep) => void;
}

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

async function requireManager(ctx: Context): Promise<void> {
  if (ctx.args.scope === 'system') {
    if (!(await systemBootedWithSystemd())) {
      throw new CliError(
        1,
        'no_systemd',
        'PID 1 is not systemd on this host, so there is no system manager for a unit in /etc/systemd/system: ' +
          'run `hyperctl setup --user` (a unit of your user manager), or start `hypervisor --config ' +
          'FILE` under your own supervisor',
      );
    }
    return;
  }
  if (!(await userManagerAnswers(ctx.env))) {
    throw new CliError(
      1,
      'no_user_manager',
      `no systemd user manager answers at ${ctx.env.XDG_RUNTIME_DIR}: log in on a session that starts one ` +
        `(or \`loginctl enable-linger ${currentUser()}\`), or set XDG_RUNTIME_DIR to the runtime ` +
        'folder of a running one',
    );
  }
}

/** An existing config is kept as it is (and must be valid); a missing one is written from the flags. */
async function ensureConfig(ctx: Context): Promise<Config> {
  const file = ctx.args.configPath;
  if (existsSync(file)) {
    const config = loadConfig(file);
    const flags = ctx.args.configFlags;
    const note =
      flags.length > 0
        ? ` (${flags.join(', ')} ${flags.length === 1 ? 'shapes' : 'shape'} only a new config: edit ` +
          'this file to change it)'
        : '';
    ctx.report({ step: 'config', status: 'unchanged', detail: `${file} is valid, kept as it is${note}` });
    return config;
  }
  const config = await writeNewConfig(file, ctx.args.newConfig);
  ctx.report({ step: 'config', status: 'changed', detail: `wrote ${file}` });
  return config;
}

async function ensureFolders(ctx: Context, config: Config, layout: InstallLayout): Promise<void> {
  // Logs are never readable by every local user; the store's folder (hashes, sessions) is the user's alone.
  const folders: Array<[string, number | undefined]> = [
    ...['repos', 'artifacts', 'run'].map((dir): [string, undefined] => [path.join(config.root, dir), undefined]),
    [path.join(config.root, 'logs'), LOG_DIR_MODE],
    [config.app.run.envRoot, undefined],
    [layout.builds, undefined],
    [layout.logs, LOG_DIR_MODE],
    ...(config.store.kind === 'embedded'
      ? [[path.dirname(config.store.path), PRIVATE_DIR_MODE] as [string, number]]
      : []),
  ];
  const created: string[] = [];
  for (const [dir, mode] of folders) {
    if (existsSync(dir)) continue;
    await mkdir(dir, { recursive: true, mode });
    created.push(dir);
  }
  // Only the daemon's user may reach its admin socket: the folder is private too.
  if (config.listen.admin && !existsSync(path.dirname(config.listen.admin))) {
    await mkdir(path.dirname(config.listen.admin), { recursive: true, mode: 0o700 });
    created.push(path.dirname(config.listen.admin));
  }
  ctx.report(
    created.length > 0
      ? { step: 'folders', status: 'changed', detail: `created ${created.join(', ')}` }
      : { step: 'folders', status: 'unchanged', detail: `all in place under ${config.root}` },
  );
}

/** The first build is the one running setup; `hyperctl upgrade` moves the link later. */
async function ensureBuildLink(ctx: Context, layout: InstallLayout): Promise<boolean> {
  const target = await linkTarget(layout.current);
  if (target !== null) {
    if (!existsSync(path.join(target, 'bin', 'hypervisor.js'))) {
      throw new CliError(
        1,
        'broken_build_link',
        `${layout.current} points at ${target}, which holds no bin/hypervisor.js: point it at a ` +
          `build (ln -sfn BUILD ${layout.current}), then run setup again`,
      );
    }
    ctx.report({ step: 'build', status: 'unchanged', detail: `${layout.current} -> ${target}` });
    return false;
  }
  const build = await runningBuildDir();
  await pointLink(layout.current, build);
  ctx.report({ step: 'build', status: 'changed', detail: `${layout.current} -> ${build} (this hyperctl's build)` });
  return true;
}

async function lingering(ctx: Context): Promise<void> {
  const user = currentUser();
  const result = await ensureLinger(user);
  switch (result.state) {
    case 'already':
      return ctx.report({ step: 'lingering', status: 'unchanged', detail: `enabled for ${user}` });
    case 'enabled':
      return ctx.report({
        step: 'lingering',
        status: 'changed',
        detail: `enabled for ${user}: its user manager runs without a login and starts at boot`,
      });
    case 'unavailable':
      return ctx.report({
        step: 'lingering',
        status: 'warning',
        detail: `cannot enable lingering for ${user} (${result.error})`,
        fix: lingerFix(user),
      });
  }
}

async function ensureUnit(
  ctx: Context,
  config: Config,
  layout: InstallLayout,
): Promise<{ service: DaemonService; changed: boolean }> {
  const { scope, unit, configPath } = ctx.args;
  const uid = process.getuid?.() ?? 0;
  const { file: unitFile, changed } = await installDaemonUnit({
    scope,
    unit,
    node: process.execPath,
    config: configPath,
    root: config.root,
    layout,
    env: ctx.env,
    uid,
  });
  const service = new DaemonService({ scope, unit, env: ctx.env });
  if (changed) await service.daemonReload();
  ctx.report({ step: 'unit', status: changed ? 'changed' : 'unchanged', detail: `${unitFile} (${scope} unit)` });
  const recorded = await writeInstallRecord(layout, {
    scope,
    unit,
    unitFile,
    config: configPath,
    node: process.execPath,
    env: ctx.env,
  });
  if (recorded)
    ctx.report({
      step: 'record',
      status: 'changed',
      detail: `wrote ${layout.installFile} (for hyperctl restart and upgrade)`,
    });
  if (await service.isEnabled()) {
    ctx.report({ step: 'enabled', status: 'unchanged', detail: `${unit} starts with its manager` });
  } else {
    await service.enable();
    ctx.report({ step: 'enabled', status: 'changed', detail: `${unit} now starts with its manager` });
  }
  return { service, changed };
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
