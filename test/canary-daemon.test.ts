// The daemon's canary parts against a real embedded store and real files: a failed rollout writes
// the desired revision that sends traffic back (source `canary`, with its event in the same
// transaction), never over a change someone made since; a step is judged from a real proxy meter;
// the saved rollout survives as a file and a file that says nothing sensible is ignored.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { ColorReport, ReconcilerStatus } from '../common/status.js';
import { parseConfig } from '../config/config.js';
import { canaryOptions } from '../daemon/canary.js';
import { DesiredStateService } from '../desired-state/revisions.js';
import { initialStatus } from '../reconciler/status.js';
import { CanaryFile } from '../reconciler/canary-file.js';
import { DEFAULT_STEP_THRESHOLDS, TrafficStepJudge } from '../reconciler/canary-judge.js';
import { TrafficMeter } from '../proxy/meter.js';
import { EmbeddedStore } from '../store/embedded.js';

const PATTERN = /^v\d{2}\.\d{2}\.\d{2}\.\d+$/;
const V1 = 'v26.11.27.0';
const V2 = 'v26.11.27.1';
const ROLLOUT = { from: 'blue', to: 'green', tag: V2 } as const;

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
    return canaryOptions(parseConfig(yaml, dir), desired, () => initialStatus(), new TrafficMeter())!;
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

  it('judges a step by the proxy meter: errors of the new color fail it, in numbers; too few pass', () => {
    let now = 0;
    const meter = new TrafficMeter({ now: () => now, origin: 0 });
    let status = statusWith({});
    const steps = new TrafficStepJudge(meter, DEFAULT_STEP_THRESHOLDS, () => status);
    const round = (startedAt: number) => ({ ...ROLLOUT, step: 0, weight: 10, startedAt });
    const send = (n: number, code: number) => {
      for (let i = 0; i < n; i++) meter.answered('green', 'GET', code, now - 5);
    };
    send(500, 500); // before the step: not its business
    steps.started(round(1));
    now = 60_000;
    send(60, 200);
    send(20, 500);
    meter.answered('blue', 'GET', 500, now - 5);
    expect(steps.judge({ ...round(1), endedAt: now })).to.deep.equal({
      result: 'fail',
      message: 'error rate 25% (20 of 80) > 1% over 60 s',
    });
    steps.started(round(2));
    now = 120_000;
    send(60, 200);
    expect(steps.judge({ ...round(2), endedAt: now }).result).to.equal('pass');
    steps.started(round(3));
    send(3, 200);
    expect(steps.judge({ ...round(3), endedAt: now })).to.deep.include({ result: 'pass' });
    expect(steps.judge({ ...round(3), endedAt: now }).message).to.match(/^too few requests: 3 of 50/);
    status = statusWith({ phase: 'Degraded', message: '3 failed probes' });
    expect(steps.judge({ ...round(3), endedAt: now })).to.deep.equal({
      result: 'fail',
      message: `green is not Ready at ${V2} (Degraded: 3 failed probes)`,
    });
    expect(steps.judge({ ...round(9), endedAt: now }).result, 'no reading at its start').to.equal('fail');
    status = statusWith({});
    expect(steps.judge({ ...round(9), endedAt: now })).to.deep.equal({
      result: 'hold',
      message: 'no reading at the start of the step',
    });
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
    expect(canaryOptions(config, desired, () => initialStatus(), new TrafficMeter())).to.equal(undefined);
  });
});
