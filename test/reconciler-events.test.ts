// A store that refuses every event write must not stop the loop: real passes of a real Loop
// (process driver, the proxy's Router, the embedded store behind a wrapper whose appendEvent fails)
// deploy and route as usual, report success, and say once in the log why the events are lost.
import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseConfig } from '../config/config.js';
import { DesiredStateService } from '../desired-state/revisions.js';
import { Router } from '../proxy/router.js';
import { ReleasePipeline } from '../reconciler/pipeline.js';
import { Loop } from '../reconciler/loop.js';
import type { PassResult } from '../reconciler/pass.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';
import { ProcessDriver } from '../units/process-driver.js';
import { writeBackendArtifact } from './harness/backend-artifact.js';
import { freePorts } from '../harness/ports.js';
import { waitUntil } from './harness/wait.js';

const TAG = 'v26.11.27.0';

describe('reconciler: passes while the store refuses every event', function () {
  this.timeout(60_000);
  let root: string;
  let store: Store;
  let driver: ProcessDriver;
  let router: Router;
  let reconciler: Loop;
  const original = console.error;
  const logged: string[] = [];

  before(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'hv-events-'));
    const [blue, green] = await freePorts(2);
    const config = parseConfig(
      `
app: { name: events-${process.pid}, repo: ${path.join(root, 'no-repo')}, health: { timeout: 1s } }
colors: { blue: { port: ${blue} }, green: { port: ${green} } }
listen: { public: '127.0.0.1:0', preview: false, admin: false }
root: ${root}
units: { driver: process }
store: { kind: embedded, path: ${path.join(root, 'hypervisor.db')} }
reconcile: { interval: 1h }
`,
      root,
    );
    store = await openStore(config.store);
    const artifact = await writeBackendArtifact({ version: TAG.slice(1), dir: root });
    await store.createRelease({
      tag: TAG,
      sha: null,
      version: artifact.version,
      author: null,
      status: 'succeeded',
      error: null,
      build: null,
      test: null,
      artifactPath: artifact.executable,
    });
    await new DesiredStateService(store, config.app.tagPattern).apply(
      { active: 'blue', colors: { blue: { tag: TAG }, green: { tag: null } } },
      { source: 'api', author: 'test' },
    );
    // The real store for everything, except that it refuses every event: a full disk, a lost primary.
    const refusing = new Proxy(store, {
      get: (target, key: keyof Store) => {
        if (key === 'appendEvent') return () => Promise.reject(new Error('disk I/O error'));
        const value = target[key];
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    driver = new ProcessDriver({ appName: config.app.name, stateDir: path.join(root, 'run'), pollIntervalMs: 100 });
    router = new Router({ drainTimeoutMs: 1_000 });
    const builder = new ReleasePipeline({
      repo: config.app.repo,
      root,
      appBuild: config.app.build,
      appTest: config.app.test,
      envRoot: config.app.run.envRoot,
      tagPattern: config.app.tagPattern,
      store,
    });
    console.error = (...args: unknown[]) => void logged.push(args.join(' '));
    reconciler = new Loop({ config, store: refusing, driver, router, builder });
  });
  after(async () => {
    console.error = original;
    await reconciler?.close();
    await driver?.uninstall('blue').catch(() => undefined);
    await driver?.close();
    await router?.close(1_000);
    await store?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('deploys and routes as usual; each pass succeeds; the log says once why events are lost', async () => {
    const first = await reconciler.trigger();
    expect(first.actions.map((a) => `${a.action.kind} ${a.result}`)).to.deep.equal(['deploy done']);
    const passes: PassResult[] = [first];
    await waitUntil(
      async () => {
        const pass = await reconciler.trigger();
        passes.push(pass);
        return pass;
      },
      (p) => p.status.active === 'blue' && p.status.colors?.blue.phase === 'Ready',
      { what: 'blue Ready and routed' },
    );
    for (const pass of passes) {
      expect(pass.actions.every((a) => a.result === 'done')).to.equal(true);
      expect(pass.status.conditions.find((c) => c.type === 'Reconciling')).to.deep.include({
        status: 'True',
        reason: 'PassSucceeded',
      });
    }
    expect(passes.flatMap((p) => p.actions.map((a) => a.action.kind))).to.deep.equal(['deploy', 'route']);
    expect(logged).to.have.length(1);
    expect(logged[0]).to.match(/^hypervisor: cannot record event \w+ \(disk I\/O error\); the loop goes on/);
    // Promoted is written with its ledger entry, in that write's transaction, which this store still takes.
    const appended = (await store.listRecentEvents(100)).filter(
      (e) => e.actor === 'reconciler' && e.reason !== 'Promoted',
    );
    expect(appended).to.deep.equal([]);
    expect((await store.listRecentEvents(100)).filter((e) => e.reason === 'Promoted')).to.have.length(1);
  });
});
