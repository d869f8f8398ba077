// The loop's promises to its operator, end to end: the real `hypervisor` binary with the systemd
// driver against a real `systemd --user`, the example backend built from real tags, the real CLIs.
// The backend's readiness can be broken from outside (a file per port in its env root), so a color
// fails its probes as a real unit. The loop runs a pass only when told (POST /reconcile, as
// `hyperctl reconcile` does): the intervals are an hour, so every pass in these tests is one we asked for.
import { expect } from 'chai';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { PlanAnswer, ReconcileAnswer, StatusAnswer } from '../api/wire.js';
import type { Color, EventRecord } from '../common/types.js';
import { Systemctl, type UnitShow } from '../units/systemctl.js';
import { SystemdDriver } from '../units/systemd-driver.js';
import { PASSWORD, request, type Answer } from './api-harness.js';
import { runBin, scratchDir, startDaemonProcess, type DaemonProcess } from '../harness/daemon-process.js';
import { createExampleRepo, type ExampleRepo } from '../harness/example-repo.js';
import { writeTestConfig } from './harness/daemon-config.js';
import { sharedUserManager, type SharedUserManager } from './harness/systemd-user.js';
import { waitFor } from './harness/wait.js';

const V1 = 'v26.11.27.0';
const V2 = 'v26.11.27.1';

describe('the loop, as its operator sees it (real daemon, real systemd units)', function () {
  this.timeout(240_000);
  let manager: SharedUserManager;
  let scratch: { dir: string; remove(): Promise<void> };
  let daemon: DaemonProcess;
  let appName: string;
  let publicUrl: string;
  let socket: string;
  let envRoot: string;
  let ports: Record<Color, number>;
  let viewer: string;
  let cliEnv: NodeJS.ProcessEnv;

  const admin = async <T>(method: string, route: string, body?: unknown): Promise<T> => {
    const answer: Answer<T> = await request<T>(
      { socketPath: socket },
      method,
      route,
      body === undefined ? {} : { body },
    );
    if (answer.status >= 300) throw new Error(`${method} ${route}: ${answer.status} ${answer.text}`);
    return answer.json;
  };
  const reconcile = (): Promise<ReconcileAnswer> => admin<ReconcileAnswer>('POST', '/reconcile');
  const status = (): Promise<StatusAnswer> => admin<StatusAnswer>('GET', '/status');
  const events = async (): Promise<EventRecord[]> =>
    (await admin<{ events: EventRecord[] }>('GET', '/events?limit=1000')).events;
  const unit = (color: Color): Promise<UnitShow> =>
    new Systemctl({ env: manager.env }).show(`${appName}-${color}.service`);
  const version = async (): Promise<string> =>
    (await fetch(`${publicUrl}/version`, { signal: AbortSignal.timeout(2_000) })).text();
  /** Makes `color`'s /ping answer 503 always (`down`), every other time (`flap`), or 200 (`null`). */
  const readiness = async (color: Color, mode: 'down' | 'flap' | null): Promise<void> => {
    const file = path.join(envRoot, `ping-${ports[color]}`);
    if (mode === null) await rm(file, { force: true });
    else await writeFile(file, mode);
  };
  /** Runs passes until `accept` holds for one; returns that pass. */
  const reconcileUntil = (what: string, accept: (pass: ReconcileAnswer) => boolean): Promise<ReconcileAnswer> =>
    waitFor(
      what,
      async () => {
        const pass = await reconcile();
        return accept(pass) ? pass : null;
      },
      120_000,
    );
  const phase = (pass: ReconcileAnswer, color: Color): string => {
    const c = pass.status.colors?.[color];
    return `${c?.phase} ${c?.runningTag}: ${c?.message}`;
  };

  before(async () => {
    manager = await sharedUserManager();
    scratch = await scratchDir('hv-loop-');
    const repo = await createExampleRepo(path.join(scratch.dir, 'backend'));
    await breakableReadiness(repo);
    await repo.release(V1.slice(1));
    await repo.release(V2.slice(1));
    envRoot = path.join(scratch.dir, 'env');
    const config = await writeTestConfig({
      appName: `loop-${process.pid}`,
      dir: scratch.dir,
      repo: repo.path,
      driver: 'systemd',
      preview: true,
      scriptTimeouts: { build: '2m', test: '2m' },
      intervals: { health: '1h', reconcile: '1h' },
      envRoot,
      extra: 'proxy: { drainTimeout: 2s }\npolicy: { autoStage: false }',
    });
    ({ appName, socket, publicUrl } = config);
    ports = { blue: config.ports.blue, green: config.ports.green };
    daemon = await startDaemonProcess(config.path, manager.env, publicUrl);
    await admin('POST', '/users', { username: 'vera', password: PASSWORD, roles: ['viewer'] });
    const session = path.join(scratch.dir, 'session.json');
    cliEnv = { ...process.env, HYPER_CLI_SESSION: session, HYPER_SERVER: publicUrl };
    const login = await runBin('hyper-cli', ['login', '--user', 'vera', '--password-stdin'], cliEnv, PASSWORD);
    expect(login.code, login.stderr + login.stdout).to.equal(0);
    viewer = (JSON.parse(await readFile(session, 'utf8')) as { token: string }).token;

    await admin('PUT', '/desired', { active: 'blue', colors: { blue: { tag: V1 }, green: { tag: V2 } } });
    await reconcileUntil(
      'blue serving v1 and green Ready at v2',
      (p) => phase(p, 'blue') === `Ready ${V1}: serving ${V1}` && phase(p, 'green') === `Ready ${V2}: serving ${V2}`,
    );
    expect(await version()).to.equal(V1.slice(1));
  });

  after(async () => {
    await daemon?.stop();
    if (manager) {
      const driver = new SystemdDriver({ appName, env: manager.env });
      for (const color of ['blue', 'green'] as const) await driver.uninstall(color).catch(() => undefined);
    }
    await manager?.release();
    await scratch?.remove();
  });

  it('ends a pass at a route that fails: the color that serves keeps running and serving', async () => {
    const blueBefore = await unit('blue');
    // Green flaps: every probe that finds it Ready is followed by one that does not, so each pass
    // that plans the switch finds green gone when it is about to move traffic.
    await readiness('green', 'flap');
    await admin('PUT', '/desired', { active: 'green', colors: { blue: { tag: null }, green: { tag: V2 } } });
    const passes: ReconcileAnswer[] = [];
    const failed = await reconcileUntil('a pass whose route to green failed', (pass) => {
      passes.push(pass);
      return pass.actions.some((a) => a.action.kind === 'route' && a.result === 'failed');
    });

    expect(failed.actions.map((a) => `${a.action.kind} ${a.result}`)).to.deep.equal(['route failed', 'stop skipped']);
    const [route, stop] = failed.actions;
    expect(route!.result === 'failed' && route!.error).to.equal(
      'green is not Ready any more (/ping: answered 503); traffic stays where it is',
    );
    expect(stop!.result === 'skipped' && stop!.why).to.match(/^not run: route failed before it \(green is not Ready/);
    const lastPass = (await status()).status;
    expect(lastPass.lastPass!.actions.map((a) => `${a.kind} ${a.result}`)).to.deep.equal([
      'route failed',
      'stop skipped',
    ]);
    expect(lastPass.conditions.find((c) => c.type === 'Reconciling')).to.deep.include({
      status: 'False',
      reason: 'ActionFailed',
    });
    expect(
      passes.flatMap((p) => p.actions.filter((a) => a.action.kind === 'stop' && a.result === 'done')),
    ).to.deep.equal([]);
    const blueNow = await unit('blue');
    expect([blueNow.activeState, blueNow.mainPid]).to.deep.equal(['active', blueBefore.mainPid]);
    expect(await version()).to.equal(V1.slice(1));
    const trail = await events();
    expect(
      trail.some((e) => e.reason === 'ActionFailed' && / not run in this pass: stop blue$/.test(e.message)),
    ).to.equal(true);
    expect(trail.filter((e) => e.reason === 'Stopped' && e.color === 'blue')).to.deep.equal([]);
    // Each pass now probes green twice (plan, then the route's check): every one fails the same way.
    const cli = await runBin('hyperctl', ['reconcile', '--socket', socket], { ...process.env, ...manager.env });
    expect(cli.code, cli.stdout + cli.stderr).to.equal(1);
    expect(cli.stdout).to.match(/^FAIL route: traffic blue -> green \(green is not Ready any more/m);
    expect(cli.stdout).to.match(/^SKIP stop: no tag desired \(not run: route failed before it/m);
    expect((await unit('blue')).mainPid).to.equal(blueBefore.mainPid);

    // Green steady again: the next pass plans from what it sees and finishes the switch.
    await readiness('green', null);
    await reconcileUntil(
      'traffic on green and blue stopped',
      (p) => p.status.active === 'green' && phase(p, 'blue').startsWith('Empty'),
    );
    expect(await version()).to.equal(V2.slice(1));
    expect((await unit('blue')).activeState).to.equal('inactive');
  });

  it('reads change nothing: GET /plan 100 times and every CLI read leave counters, events, state alone', async () => {
    await readiness('green', 'down');
    const first = await reconcile();
    expect(phase(first, 'green')).to.equal(`Degraded ${V2}: 1 failed probe(s) of 3: /ping: answered 503`);
    const snapshot = async (): Promise<unknown> => {
      const [green, s, trail] = await Promise.all([unit('green'), status(), events()]);
      return {
        unit: { pid: green.mainPid, restarts: green.nRestarts, state: green.activeState },
        lastEvent: trail[0]?.id,
        revision: s.revision?.number,
        status: s.status,
      };
    };
    const before = await snapshot();

    for (let i = 0; i < 100; i += 1) {
      const plan = await request<PlanAnswer>(
        { host: '127.0.0.1', port: Number(new URL(publicUrl).port) },
        'GET',
        '/plan',
        {
          token: viewer,
        },
      );
      expect(plan.status, plan.text).to.equal(200);
      // What a pass would conclude now: its own probe would be the second failure, not the 2nd..101st.
      expect(plan.json.colors.green.message).to.equal('2 failed probe(s) of 3: /ping: answered 503');
      expect(plan.json.actions).to.deep.equal([]);
    }
    const proposal = path.join(scratch.dir, 'proposal.yaml');
    await writeFile(proposal, `active: blue\ncolors:\n  blue: { tag: ${V1} }\n`);
    const reads = [
      ['plan'],
      ['status'],
      ['releases'],
      ['logs', V2],
      ['events'],
      ['whoami'],
      ['desired', 'get'],
      ['desired', 'diff', '-f', proposal],
    ];
    for (const args of reads) {
      const read = await runBin('hyper-cli', args, cliEnv);
      expect(read.code, `hyper-cli ${args.join(' ')}: ${read.stderr}`).to.equal(0);
    }
    for (const args of [['status'], ['users', 'list']]) {
      const read = await runBin('hyperctl', [...args, '--socket', socket], { ...process.env, ...manager.env });
      expect(read.code, `hyperctl ${args.join(' ')}: ${read.stderr}`).to.equal(0);
    }

    expect(await snapshot()).to.deep.equal(before);
    // Only passes count: the next one sees the second failure, and the one after restarts green.
    expect(phase(await reconcile(), 'green')).to.equal(`Degraded ${V2}: 2 failed probe(s) of 3: /ping: answered 503`);
    const third = await reconcile();
    expect(
      third.actions.map((a) => `${a.action.kind} ${'color' in a.action ? a.action.color : '-'} ${a.result}`),
    ).to.deep.equal(['restart green done']);
    expect((await unit('green')).mainPid).to.not.equal((before as { unit: { pid: number } }).unit.pid);
  });
});

/**
 * Commits a change to the example backend's server.js: `/ping` reads `<env-root>/ping-<port>` on
 * every request and answers 503 when it says `down`, every other time when it says `flap`.
 */
async function breakableReadiness(repo: ExampleRepo): Promise<void> {
  const file = path.join(repo.path, 'server.js');
  const source = await readFile(file, 'utf8');
  const ping = "if (url.pathname === '/ping') return send(res, 200, 'text/plain', 'pong');";
  expect(source, 'the example backend answers /ping in one line').to.contain(ping);
  const patched = source.replace(ping, "if (url.pathname === '/ping') return ping(res, settings);") + PING;
  await repo.commitFile('server.js', patched, 'readiness follows <env-root>/ping-<port>');
}

const PING = `
let pings = 0;
function ping(res, settings) {
  let mode = '';
  try {
    mode = fs.readFileSync(path.join(settings.envRoot, 'ping-' + settings.port), 'utf8').trim();
  } catch {
    // No file: ready.
  }
  pings += 1;
  const down = mode === 'down' || (mode === 'flap' && pings % 2 === 0);
  return down ? send(res, 503, 'text/plain', 'not ready\\n') : send(res, 200, 'text/plain', 'pong');
}
`;
