// Where the hypervisor keeps itself on a host, under `<root>/hypervisor/`:
//   builds/<tag>/   checkouts of the hypervisor's own repo, each installed, tested and built
//   current         a symlink to the build the daemon's unit starts (its ExecStart goes through it)
//   previous        a symlink to the build `current` replaced, so an upgrade can go back
//   install.json    how `hyperctl setup` installed the daemon (unit, scope, config), for restart/upgrade
// Links are swapped atomically (a new symlink renamed over the old one): a daemon start never sees
// a missing or half-written `current`.
import { lstat, readlink, realpath } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ValidationError } from '../common/errors.js';
import { readIfExists, symlinkAtomic, writeFileAtomic } from '../common/atomic-write.js';
import type { SystemdScope, SystemdUserEnv } from '../units/systemctl.js';

export interface InstallLayout {
  dir: string;
  builds: string;
  current: string;
  previous: string;
  installFile: string;
  lockFile: string;
  /** Logs of upgrade steps, `upgrade-<tag>.log`. */
  logs: string;
  /** The daemon's own stdout and stderr (its unit appends there). */
  daemonLog: string;
}

export function installLayout(root: string): InstallLayout {
  const dir = path.join(root, 'hypervisor');
  return {
    dir,
    builds: path.join(dir, 'builds'),
    current: path.join(dir, 'current'),
    previous: path.join(dir, 'previous'),
    installFile: path.join(dir, 'install.json'),
    lockFile: path.join(dir, 'upgrade.lock'),
    logs: path.join(dir, 'logs'),
    daemonLog: path.join(root, 'logs', 'hypervisor.log'),
  };
}

/** `system`: /etc/systemd/system, run by PID 1; `user`: the invoking user's manager. */
export type UnitScope = SystemdScope;

/** How the daemon was installed: enough for restart and upgrade to drive the same unit. */
export interface InstallRecord {
  scope: UnitScope;
  /** e.g. `openhack-hypervisor.service` */
  unit: string;
  unitFile: string;
  /** Absolute path of the daemon's config. */
  config: string;
  node: string;
  /** The user manager the daemon (and, for the user scope, its own unit) lives in. */
  env: SystemdUserEnv;
}

export async function readInstallRecord(layout: InstallLayout): Promise<InstallRecord | null> {
  const text = await readIfExists(layout.installFile);
  if (text === null) return null;
  try {
    return JSON.parse(text) as InstallRecord;
  } catch (err) {
    throw new ValidationError(
      layout.installFile,
      `is not valid JSON (${(err as Error).message}); run hyperctl setup again to rewrite it`,
    );
  }
}

/** Writes the record when it differs from what is there; returns whether it changed. */
export async function writeInstallRecord(layout: InstallLayout, record: InstallRecord): Promise<boolean> {
  return (await writeFileAtomic(layout.installFile, `${JSON.stringify(record, null, 2)}\n`)).changed;
}

/** The link's target as written (absolute), or null when there is no link. */
export async function linkTarget(link: string): Promise<string | null> {
  try {
    return path.resolve(path.dirname(link), await readlink(link));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Points `link` at `target`, atomically; refuses to replace something that is not a symlink. */
export async function pointLink(link: string, target: string): Promise<void> {
  const existing = await lstat(link).catch(() => null);
  if (existing && !existing.isSymbolicLink()) {
    throw new ValidationError(link, 'exists and is not a symlink; move it away, then run the command again');
  }
  await symlinkAtomic(target, link);
}

/** The folder of the build this code runs from (it holds bin/ and dist/), with symlinks resolved. */
export async function runningBuildDir(): Promise<string> {
  // This file is <build>/dist/host/install-layout.js.
  return realpath(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..'));
}

/** The build's tag when it lives under builds/, else null (the build setup linked first). */
export function tagOfBuild(layout: InstallLayout, buildDir: string): string | null {
  const relative = path.relative(layout.builds, buildDir);
  return relative && !relative.startsWith('..') && !relative.includes(path.sep) ? relative : null;
}
