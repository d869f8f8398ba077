// The daemon's canary parts against a real embedded store and real files: a failed rollout writes
// the desired revision that sends traffic back (source `canary`, with its event in the same
// transaction), never over a change someone made since; the readiness judge reads the loop's status;
// the saved rollout survives as a file and a file that says nothing sensible is ignored.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { ColorReport, ReconcilerStatus } from '../common/status.js';
import { parseConfig } from '../config/config.js';
import { canaryOptions, readinessJudge } from '../daemon/canary.js';
import { DesiredStateService } from '../desired-state/revisions.js';
import { initialStatus } from '../reconciler/status.js';
import { CanaryFile } from '../reconciler/canary-file.js';
import { EmbeddedStore } from '../store/embedded.js';

const PATTERN = /^v\d{2}\.\d{2}\.\d{2}\.\d+$/;
const V1 = 'v26.11.27.0';
const V2 = 'v26.11.27.1';
const ROLLOUT = { from: 'blue', to: 'green', tag: V2 } as const;
const STEP = { ...ROLLOUT, step: 0, weight: 10, startedAt: 0, endedAt: 60_000 };

function statusWith(green: Partial<ColorReport>): ReconcilerStatus {
  const report = { phase: 'Ready', message: 'serving', desiredTag: V2, runningTag: V2 } as ColorReport;
  return { ...initialStatus(), colors: { blue: report, green: { ...report, ...green } } };
}

describe('canary in the daemon (real store, real files)', () => {
  let dir: string;
  let store: EmbeddedStore;
  let desired: DesiredStateService;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'canary-daemon-'));
    store = new EmbeddedStore({ path: path.join(dir, 'hypervisor.db') });
    await store.init();
    desired = new DesiredStateService(store, PATTERN);
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const options = () => {
    const yaml = `app: { name: demo, repo: ./b }\nroot: ${dir}\ngates: { canary: { steps: [10, 50] } }\n`;
    return canaryOptions(parseConfig(yaml, dir), desired, () => initialStatus())!;
  };
  const doc = (active: 'blue' | 'green') => ({
    active,
    colors: { blue: { tag: V1 }, green: { tag: V2 } },
    paused: false,
  });

  it('a failed rollout writes a revision by source canary that names the old color, with why', async () => {
    await desired.apply(doc('green'), { source: 'api', author: 'otto' });
    await options().sendBack(ROLLOUT, 'error rate 37.5% (15 of 40) > 1% over 60 s');
    const latest = (await desired.current())!;
    expect(latest).to.deep.include({ source: 'canary', author: 'hypervisor' });
    expect(latest.doc.active).to.equal('blue');
    const events = await store.listEventsAfter(0, 100);
    const back = events.find((e) => e.reason === 'CanaryRolledBack')!;
    expect(back.message).to.equal(
      `the canary of ${V2} on green failed (error rate 37.5% (15 of 40) > 1% over 60 s); the desired state ` +
        `sends traffic back to blue (revision ${latest.number})`,
    );
  });

  it('writes nothing when the desired state moved on since (an operator switched back already)', async () => {
    await desired.apply(doc('blue'), { source: 'api', author: 'otto' });
    const before = (await desired.current())!.number;
    await options().sendBack(ROLLOUT, 'failed');
    expect((await desired.current())!.number).to.equal(before);
  });

  it('the readiness judge passes a step while the new color stayed Ready at its tag, and says why not', () => {
    expect(readinessJudge(statusWith({}), STEP)).to.deep.equal({
      result: 'pass',
      message: `green stayed Ready at ${V2} over 60 s`,
    });
    const sick = readinessJudge(statusWith({ phase: 'Degraded', message: '3 failed probes' }), STEP);
    expect(sick).to.deep.equal({
      result: 'fail',
      message: `green is not Ready at ${V2} (Degraded: 3 failed probes) after 60 s`,
    });
    expect(readinessJudge(statusWith({ runningTag: V1 }), STEP).result).to.equal('fail');
    expect(readinessJudge(initialStatus(), STEP).result).to.equal('fail');
  });

  it('keeps a rollout in <root>/canary.json, and ignores a file that does not describe one', async () => {
    const file = options().file;
    expect(file.path).to.equal(path.join(dir, 'canary.json'));
    expect(await file.load()).to.equal(null);
    await file.save({ ...ROLLOUT, step: 1 });
    expect(await new CanaryFile(file.path).load()).to.deep.equal({ ...ROLLOUT, step: 1 });
    await file.save(null);
    expect(await file.load()).to.equal(null);
    for (const bad of [
      '{',
      '[]',
      '{"from":"blue","to":"blue","tag":"v","step":0}',
      '{"from":"red","to":"green","tag":"v","step":0}',
      '{"from":"blue","to":"green","tag":"v","step":-1}',
    ]) {
      await writeFile(file.path, bad);
      expect(await file.load(), bad).to.equal(null);
    }
  });

  it('is off without gates.canary', () => {
    const config = parseConfig(`app: { name: demo, repo: ./b }\nroot: ${dir}\n`, dir);
    expect(canaryOptions(config, desired, () => initialStatus())).to.equal(undefined);
  });
});
