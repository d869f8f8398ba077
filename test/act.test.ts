// act() against real parts: backends run by the process driver, the proxy's Router behind a real
// public listener, the embedded store. plan() orders actions assuming each earlier one succeeded,
// so the first failure ends the pass; an event the store refuses is lost, never an action.
import { expect } from 'chai';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { COLORS, type Color, type EventRecord, type NewEvent } from '../common/types.js';
import { act, type ActionOutcome, type ActorDeps } from '../reconciler/act.js';
import { EventLog } from '../store/event-log.js';
import { Observer } from '../reconciler/observe.js';
import type { Action } from '../reconciler/types.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';
import type { UnitSpec } from '../units/driver.js';
import { probeHealth } from '../units/health.js';
import { ProcessDriver } from '../units/process-driver.js';
import { writeBackendArtifact } from './harness/backend-artifact.js';
import { httpRequest } from './harness/http-backends.js';
import { freePorts } from '../harness/ports.js';
import { waitUntil } from './harness/wait.js';
import { startProxy, type ProxyFixture } from './proxy-fixture.js';

const V1 = '26.11.27.0';
const V2 = '26.11.27.1';
const HEALTH = {
  readyPath: '/ping',
  versionPath: '/version',
  intervalMs: 1_000,
  timeoutMs: 1_000,
  failureThreshold: 3,
  startTimeoutMs: 30_000,
};

describe('act: a plan carried out on real units and a real router', function () {
  this.timeout(60_000);
  const appName = `act-${process.pid}`;
  let root: string;
  let driver: ProcessDriver;
  let proxy: ProxyFixture;
  let store: Store;
  let ports: Record<Color, number>;
  let specs: Record<Color, UnitSpec>;
  let built: string[];
  /** What the deployment ledger was told: public traffic went to this color. */
  let served: Array<Color | null>;
  let logged: string[];
  /** The observer the last deps() handed act(): its memory is what act() tells it. */
  let observer: Observer;

  before(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'hv-act-'));
    await mkdir(path.join(root, 'env'));
    const [blue, green] = await freePorts(2);
    ports = { blue: blue!, green: green! };
    const spec = async (color: Color, version: string): Promise<UnitSpec> => ({
      color,
      tag: `v${version}`,
      version,
      executable: (await writeBackendArtifact({ version, dir: root })).executable,
      port: ports[color],
      deployment: 'test',
      envRoot: path.join(root, 'env'),
      logFile: path.join(root, `${color}.log`),
    });
    specs = { blue: await spec('blue', V1), green: await spec('green', V2) };
    driver = new ProcessDriver({ appName, stateDir: path.join(root, 'run'), pollIntervalMs: 100 });
    proxy = await startProxy();
    store = await openStore({ kind: 'embedded', path: ':memory:' });
  });
  after(async () => {
    for (const color of COLORS) await driver?.uninstall(color).catch(() => undefined);
    await driver?.close();
    await proxy?.close();
    await store?.close();
    await rm(root, { recursive: true, force: true });
  });

  /** What the reconciler hands act(), over `events` (the real store unless a test passes a faulty one). */
  const deps = (events: Pick<Store, 'appendEvent'> = store): ActorDeps => {
    built = [];
    served = [];
    logged = [];
    observer = new Observer({
      driver,
      router: proxy.router,
      health: HEALTH,
      getRelease: (tag) => store.getRelease(tag),
      jobs: () => new Set(),
      smokes: () => new Set(),
    });
    const log = new EventLog(events, 'reconciler', (line) => logged.push(line));
    return {
      driver,
      router: proxy.router,
      build: (tag) => void built.push(tag),
      smoke: () => undefined,
      observer,
      ports,
      confirmReady: (color) => observer.confirmReady(color),
      event: (event: NewEvent) => log.record(event),
      served: async (color) => void served.push(color),
    };
  };
  const ready = (color: Color): Promise<unknown> =>
    waitUntil(
      () => probeHealth({ ...HEALTH, port: ports[color], expectedVersion: specs[color].version }),
      (r) => r.ready,
      { what: `${color} Ready` },
    );
  const publicVersion = async (): Promise<string> => (await httpRequest(proxy.publicPort, '/version')).body;
  const events = async (): Promise<EventRecord[]> => (await store.listRecentEvents(100)).sort((a, b) => a.id - b.id);
  const results = (outcomes: ActionOutcome[]): string[] => outcomes.map((o) => `${o.action.kind} ${o.result}`);

  it('runs the actions in plan order and records each as an event in that order', async () => {
    const actions: Action[] = [
      { kind: 'build', tag: 'v26.11.27.9', reason: 'no release record' },
      { kind: 'deploy', color: 'blue', spec: specs.blue, reason: 'no unit installed' },
      { kind: 'deploy', color: 'green', spec: specs.green, reason: 'no unit installed' },
    ];
    const outcomes = await act(actions, deps());
    expect(results(outcomes)).to.deep.equal(['build done', 'deploy done', 'deploy done']);
    expect(built).to.deep.equal(['v26.11.27.9']);
    expect((await events()).map((e) => `${e.reason} ${e.color}`)).to.deep.equal(['Deployed blue', 'Deployed green']);
    await Promise.all([ready('blue'), ready('green')]);

    const routed = await act(
      [{ kind: 'route', active: 'blue', preview: 'green', reason: 'traffic none -> blue' }],
      deps(),
    );
    expect(results(routed)).to.deep.equal(['route done']);
    expect(await publicVersion()).to.equal(V1);
    expect(served).to.deep.equal(['blue']);
  });

  it('ends the pass at a route that fails: the color that serves is not stopped', async () => {
    // Green's unit runs on, but its listener is gone: its port refuses, as a wedged backend's does.
    const green = await driver.observe('green');
    process.kill(green.mainPid!, 'SIGUSR1');
    await waitUntil(
      () =>
        fetch(`http://127.0.0.1:${ports.green}/ping`).then(
          () => 'answers',
          (err: Error & { cause?: { code?: string } }) => err.cause?.code ?? err.message,
        ),
      (state) => state === 'ECONNREFUSED',
      { what: "green's port to refuse" },
    );
    const bluePid = (await driver.observe('blue')).mainPid;
    const before = (await events()).length;

    // What plan() makes of {active: green, blue: no tag} after it saw green Ready a moment ago.
    const outcomes = await act(
      [
        { kind: 'route', active: 'green', preview: null, reason: 'traffic blue -> green' },
        { kind: 'stop', color: 'blue', reason: 'no tag desired' },
      ],
      deps(),
    );

    expect(results(outcomes)).to.deep.equal(['route failed', 'stop skipped']);
    const [route, stop] = outcomes;
    expect(route!.result === 'failed' && route!.error).to.match(
      /green is not Ready any more \(\/ping: connection refused\)/,
    );
    expect(stop!.result === 'skipped' && stop!.why).to.match(/^not run: route failed before it \(green is not Ready/);
    const blue = await driver.observe('blue');
    expect([blue.activeState, blue.mainPid]).to.deep.equal(['active', bluePid]);
    expect(proxy.router.activeColor()).to.equal('blue');
    expect(await publicVersion()).to.equal(V1);
    expect(served, 'the ledger hears of no switch that did not happen').to.deep.equal([]);
    const added = (await events()).slice(before);
    expect(added.map((e) => e.reason)).to.deep.equal(['ActionFailed']);
    expect(added[0]!.message).to.match(
      /^route failed: green is not Ready any more .*; not run in this pass: stop blue$/,
    );
  });

  it('loses an event the store refuses, never the action: the next actions run and it is logged once', async () => {
    let refuse = true;
    const faulty: Pick<Store, 'appendEvent'> = {
      appendEvent: (event) => (refuse ? Promise.reject(new Error('disk full')) : store.appendEvent(event)),
    };
    const greenPid = (await driver.observe('green')).mainPid;
    const before = (await events()).length;
    const d = deps(faulty);

    // Restarting heals the wedged green; then blue stops. Both write an event the store refuses.
    const outcomes = await act(
      [
        { kind: 'restart', color: 'green', reason: 'port refuses' },
        { kind: 'stop', color: 'blue', reason: 'no tag desired' },
      ],
      d,
    );

    expect(results(outcomes)).to.deep.equal(['restart done', 'stop done']);
    await ready('green');
    expect((await driver.observe('green')).mainPid).to.not.equal(greenPid);
    expect((await driver.observe('blue')).activeState).to.equal('inactive');
    expect(logged).to.have.length(1);
    expect(logged[0]).to.match(/cannot record event Restarted \(disk full\); the loop goes on/);
    expect(await events()).to.have.length(before);

    refuse = false;
    expect(results(await act([{ kind: 'start', color: 'blue', reason: 'unit is inactive/dead' }], d))).to.deep.equal([
      'start done',
    ]);
    expect(logged.slice(1)).to.deep.equal([
      'hypervisor: events are recorded again (2 lost while the store refused them)',
    ]);
    expect((await events()).slice(before).map((e) => `${e.reason} ${e.color}`)).to.deep.equal(['Started blue']);
  });

  it('tells the observer and the ledger what it did: heal restarts count, a deploy starts afresh', async () => {
    const d = deps();
    const desired = { active: 'blue' as const, colors: { blue: { tag: null }, green: { tag: null } }, paused: false };
    const green = async (): Promise<number> => (await observer.observe(desired)).colors.green.healRestarts;
    const before = (await events()).length;

    expect(results(await act([{ kind: 'restart', color: 'green', reason: 'port refuses' }], d))).to.deep.equal([
      'restart done',
    ]);
    expect(await green(), 'a self-heal restart counts towards the backoff').to.equal(1);
    const deployed = await act(
      [
        { kind: 'deploy', color: 'green', spec: specs.green, reason: 'unit file differs' },
        { kind: 'deploy', color: 'blue', spec: specs.blue, reason: 'unit file differs' },
      ],
      d,
    );
    expect(results(deployed)).to.deep.equal(['deploy done', 'deploy done']);
    expect(await green(), 'a deploy starts a fresh history').to.equal(0);
    expect(served, 'a deploy in place on the color that serves is a change for the ledger').to.deep.equal(['blue']);
    expect((await events()).slice(before).map((e) => `${e.reason} ${e.color}`)).to.deep.equal([
      'Restarted green',
      'Deployed green',
      'Deployed blue',
    ]);
    await Promise.all([ready('blue'), ready('green')]);
  });
});
