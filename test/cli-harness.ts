// A host for the CLI tests: a scratch folder, free loopback ports, and the real hyperctl and
// hyper-cli binaries run as child processes against the harness's real `systemd --user`. The daemon
// is brought up by `hyperctl setup --user` itself; teardown() stops and removes every unit the test
// made (the daemon's and both colors') and the scratch folder.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Systemctl, type SystemdUserEnv } from '../units/systemctl.js';
import { runBin, scratchDir, type Ran } from '../harness/daemon-process.js';

export { runBin, type Ran };
import { freePorts } from '../harness/ports.js';

export interface CliHost {
  dir: string;
  root: string;
  configPath: string;
  socket: string;
  unit: string;
  unitFile: string;
  appName: string;
  publicUrl: string;
  previewUrl: string;
  ports: { blue: number; green: number };
  /** `hyperctl setup --user` with this host's flags; `extra` appended. */
  setupArgs(extra?: string[]): string[];
  hyperctl(args: string[], input?: string): Promise<Ran>;
  hyperCli(args: string[], input?: string, session?: string): Promise<Ran>;
  /** Stops and removes the daemon's unit, both colors' units, and the scratch folder. */
  teardown(): Promise<void>;
}

export async function newCliHost(
  name: string,
  managerEnv: SystemdUserEnv,
  backendRepo: (dir: string) => Promise<string>,
): Promise<CliHost> {
  const scratch = await scratchDir(`hv-${name}-`);
  const [pub, preview, blue, green] = await freePorts(4);
  const dir = scratch.dir;
  const unit = `hv-${name}-${process.pid}.service`;
  const appName = `${name}-${process.pid}`;
  const repo = await backendRepo(path.join(dir, 'backend'));
  const host = {
    dir,
    root: path.join(dir, 'var'),
    configPath: path.join(dir, 'etc', 'hypervisor.yaml'),
    socket: path.join(dir, 'admin.sock'),
    unit,
    unitFile: path.join(managerEnv.XDG_CONFIG_HOME, 'systemd', 'user', unit),
    appName,
    publicUrl: `http://127.0.0.1:${pub}`,
    previewUrl: `http://127.0.0.1:${preview}`,
    ports: { blue: blue!, green: green! },
  };
  const env = {
    ...process.env,
    ...managerEnv,
    HYPER_CLI_SESSION: path.join(dir, 'session.json'),
    HYPER_SERVER: host.publicUrl,
    HYPERVISOR_CONFIG: undefined,
    NO_COLOR: undefined,
  };
  return {
    ...host,
    setupArgs: (extra = []) => [
      'setup',
      '--user',
      '--unit-name',
      unit,
      '--root',
      host.root,
      '--app-name',
      appName,
      '--app-repo',
      repo,
      '--listen',
      `127.0.0.1:${pub}`,
      '--preview',
      `127.0.0.1:${preview}`,
      '--ports',
      `${blue},${green}`,
      '--admin-socket',
      host.socket,
      ...extra,
    ],
    hyperctl: (args, input) => runBin('hyperctl', [...args, '--config', host.configPath], env, input),
    hyperCli: (args, input, session) =>
      runBin('hyper-cli', args, session ? { ...env, HYPER_CLI_SESSION: session } : env, input),
    teardown: async () => {
      const systemctl = new Systemctl({ env: managerEnv, timeoutMs: 60_000 });
      const units = [unit, `${appName}-blue.service`, `${appName}-green.service`];
      // The daemon first, so that it does not start a color again while the colors are stopped.
      for (const u of units) {
        await systemctl.run(['disable', '--now', u]).catch(() => undefined);
        await rm(path.join(managerEnv.XDG_CONFIG_HOME, 'systemd', 'user', u), { force: true });
      }
      await systemctl.daemonReload().catch(() => undefined);
      await systemctl.run(['reset-failed', ...units]).catch(() => undefined);
      await scratch.remove();
    },
  };
}

/** One JSON document, or a failure that shows what was printed instead. */
export function parseJson<T = Record<string, unknown>>(ran: Ran, what: string): T {
  try {
    return JSON.parse(ran.stdout) as T;
  } catch (err) {
    throw new Error(
      `${what}: stdout is not JSON (${(err as Error).message}), exit ` +
        `${ran.code}:\n${ran.stdout}\nstderr:\n${ran.stderr}`,
    );
  }
}
