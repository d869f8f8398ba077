// hyperctl setup's steps on the host itself: a service manager to run under, the config, the folders,
// the first build link, lingering and the daemon's own unit. Each looks before it acts and reports
// what it found or did (setup.ts runs them in order, then starts the daemon and makes the first admin).
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { LOG_DIR_MODE, PRIVATE_DIR_MODE } from '../../common/file-modes.js';
import { loadConfig, type Config } from '../../config/config.js';
import { currentUser, ensureLinger, lingerFix } from '../../host/linger.js';
import {
  linkTarget,
  pointLink,
  runningBuildDir,
  writeInstallRecord,
  type InstallLayout,
  type UnitScope,
} from '../../host/install-layout.js';
import { writeNewConfig, type NewConfigInput } from '../../host/new-config.js';
import {
  installDaemonUnit,
  DaemonService,
  type invokingUserEnv,
  systemBootedWithSystemd,
  userManagerAnswers,
} from '../../host/daemon-unit.js';
import { CliError } from '../output.js';

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

export interface Context {
  args: SetupArgs;
  env: ReturnType<typeof invokingUserEnv>;
  report: (step: SetupStep) => void;
}

export async function requireManager(ctx: Context): Promise<void> {
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
export async function ensureConfig(ctx: Context): Promise<Config> {
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

export async function ensureFolders(ctx: Context, config: Config, layout: InstallLayout): Promise<void> {
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
export async function ensureBuildLink(ctx: Context, layout: InstallLayout): Promise<boolean> {
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

export async function lingering(ctx: Context): Promise<void> {
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

export async function ensureUnit(
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
