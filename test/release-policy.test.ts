// The release policy against a real store and the real desired-state service: what autoStage and
// autoPromote write, and what they leave alone. Reconciler statuses are plain data, as a pass reports them.
import { expect } from 'chai';
import type { Color, DesiredDoc, ReleaseRecord } from '../common/types.js';
import { ValidationError } from '../common/errors.js';
import { parseConfig, type PolicyConfig } from '../config/config.js';
import { DesiredStateService } from '../desired-state/revisions.js';
import { promotable, ReleasePolicy } from '../reconciler/policy.js';
import type { ColorReport, ReconcilerStatus } from '../common/status.js';
import { initialStatus } from '../reconciler/status.js';
import { EmbeddedStore } from '../store/embedded.js';

const PATTERN = /^v\d{2}\.\d{2}\.\d{2}\.\d+$/;
const V1 = 'v26.11.27.0';
const V2 = 'v26.11.27.1';

function doc(active: Color | null, blue: string | null, green: string | null, paused = false): DesiredDoc {
  return { active, colors: { blue: { tag: blue }, green: { tag: green } }, paused };
}

function report(phase: ColorReport['phase'], tag: string | null): ColorReport {
  return {
    phase,
    message: '',
    desiredTag: tag,
    runningTag: tag,
    port: 1,
    unit: { loadState: 'loaded', activeState: 'active', subState: 'running', mainPid: 1, nRestarts: 0 },
    health: null,
    smoke: null,
  };
}

function passStatus(revision: number, blue: ColorReport, green: ColorReport): ReconcilerStatus {
  return { ...initialStatus(), observedRevision: revision, colors: { blue, green } };
}

describe('release policy: autoStage and autoPromote', () => {
  let store: EmbeddedStore;
  let desired: DesiredStateService;
  let clock: number;

  beforeEach(async () => {
    store = new EmbeddedStore({ path: ':memory:' });
    await store.init();
    desired = new DesiredStateService(store, PATTERN);
    clock = 1_000_000;
  });
  afterEach(async () => {
    await store.close();
  });

  function policy(overrides: Partial<PolicyConfig> = {}): ReleasePolicy {
    const config: PolicyConfig = {
      autoStage: true,
      autoPromote: false,
      promoteDelayMs: 0,
      keepReleases: 5,
      ...overrides,
    };
    return new ReleasePolicy({ policy: config, desired, store, now: () => clock });
  }

  /** What the reconciler does after each pass: tells the policy, which decides in its own queue. */
  async function pass(p: ReleasePolicy, status: ReconcilerStatus = initialStatus()): Promise<void> {
    p.passFinished(status);
    await p.idle();
  }

  async function built(tag: string, patch: Partial<ReleaseRecord> = {}): Promise<void> {
    await store.createRelease({
      tag,
      sha: 'a'.repeat(40),
      version: tag.slice(1),
      author: 'Example Tester <t@example.invalid>',
      status: 'succeeded',
      error: null,
      build: null,
      test: null,
      artifactPath: `/a/${tag}/${tag.slice(1)}`,
      origin: { source: 'webhook', actor: 'github:ana' },
      ...patch,
    });
  }

  it('stages a webhook release that passed on the inactive color, as the webhook and its pusher', async () => {
    await desired.apply(doc('blue', V1, null), { source: 'api', author: 'ops' });
    await built(V2);
    const p = policy();
    await pass(p);
    const latest = (await desired.current())!;
    expect(latest).to.deep.include({ number: 2, source: 'webhook', author: 'github:ana', doc: doc('blue', V1, V2) });
    const events = await store.listRecentEvents(10);
    expect(events.map((e) => e.reason)).to.include('AutoStaged');
    for (let i = 0; i < 5; i++) await pass(p);
    expect((await desired.current())!.number, 'staged once, whatever the number of passes').to.equal(2);
  });

  it('stages on any pass, so a release that passed before a restart is staged by the next daemon', async () => {
    await desired.apply(doc('blue', V1, null), { source: 'api', author: 'ops' });
    await built(V2);
    // The daemon that saw the build pass stopped before it staged it: a fresh policy starts from the store.
    const restarted = policy();
    await pass(restarted);
    expect((await desired.current())!.doc).to.deep.equal(doc('blue', V1, V2));
  });

  it("never stages over an operator's older choice, and stages only the newest release", async () => {
    await desired.apply(doc('blue', V1, null), { source: 'api', author: 'ops' });
    await built(V2);
    await built('v26.11.27.3');
    const p = policy();
    await pass(p);
    expect((await desired.current())!.doc, 'the newest only').to.deep.equal(doc('blue', V1, 'v26.11.27.3'));
    const chosen = await desired.apply(doc('blue', V1, V2), { source: 'api', author: 'ops' });
    for (let i = 0; i < 3; i++) await pass(p);
    const latest = (await desired.current())!;
    expect(latest.number, 'no flap back to the newest').to.equal(chosen.revision.number);
    expect(latest.doc).to.deep.equal(doc('blue', V1, V2));
  });

  it("stages nothing: a failed release, an operator's rebuild, a tag a desired state named, no autoStage", async () => {
    await desired.apply(doc('blue', V1, null), { source: 'api', author: 'ops' });
    await built('v26.11.27.2', { status: 'failed' });
    await built('v26.11.27.3', { origin: { source: 'operator', actor: 'ops' } });
    await built('v26.11.27.4', { origin: null });
    await pass(policy());
    await built('v26.11.27.5');
    await pass(policy({ autoStage: false }));
    expect((await desired.current())!.number).to.equal(1);
  });

  it('promotes the staged color once it stayed Ready for promoteDelay, as the policy', async () => {
    await desired.apply(doc('blue', V1, null), { source: 'api', author: 'ops' });
    await built(V2);
    const p = policy({ autoPromote: true, promoteDelayMs: 30_000 });
    await pass(p);
    const staged = (await desired.current())!;
    const passWith = async (green: ColorReport, advanceMs: number): Promise<void> => {
      clock += advanceMs;
      await pass(p, passStatus(staged.number, report('Ready', V1), green));
    };
    await passWith(report('Starting', V2), 0);
    await passWith(report('Ready', V2), 1_000);
    await passWith(report('Ready', V2), 29_000);
    expect((await desired.current())!.number).to.equal(staged.number);
    await passWith(report('Degraded', V2), 500);
    await passWith(report('Ready', V2), 500);
    await passWith(report('Ready', V2), 29_999);
    expect((await desired.current())!.number, 'Ready again restarts the delay').to.equal(staged.number);
    await passWith(report('Ready', V2), 1);
    const promoted = (await desired.current())!;
    expect(promoted).to.deep.include({ source: 'policy', author: 'policy', doc: doc('green', V1, V2) });
    await passWith(report('Ready', V2), 60_000);
    expect((await desired.current())!.number, 'promotes once').to.equal(promoted.number);
  });

  it('leaves traffic alone after an operator wrote the desired state, when paused, or autoPromote off', async () => {
    await desired.apply(doc('blue', V1, V2), { source: 'webhook', author: 'github:ana' });
    const latest = (await desired.current())!;
    const ready = passStatus(latest.number, report('Ready', V1), report('Ready', V2));
    expect(promotable(latest, ready)).to.equal('green');
    expect(
      promotable(latest, { ...ready, observedRevision: latest.number - 1 }),
      'a status of an older revision',
    ).to.equal(null);
    expect(promotable({ ...latest, source: 'api' }, ready)).to.equal(null);
    expect(promotable({ ...latest, doc: { ...latest.doc, paused: true } }, ready)).to.equal(null);
    expect(
      promotable(latest, passStatus(latest.number, report('Ready', V1), { ...report('Ready', V2), runningTag: V1 })),
    ).to.equal(null);

    const off = policy({ autoPromote: false });
    off.passFinished(ready);
    await off.idle();
    await desired.apply(doc('blue', V1, V2, true), { source: 'api', author: 'ops' });
    const paused = (await desired.current())!;
    const on = policy({ autoPromote: true });
    on.passFinished(passStatus(paused.number, report('Ready', V1), report('Ready', V2)));
    await on.idle();
    expect((await desired.current())!.number).to.equal(paused.number);
  });
});

describe('config: github and policy', () => {
  const minimal = 'app: { name: demo, repo: ./backend }\nroot: ./var\n';

  it('fills the defaults: webhooks off, autoStage on, autoPromote off, five releases kept', () => {
    const config = parseConfig(minimal, '/etc/openhack');
    expect(config.github).to.deep.equal({ repository: null, secretFile: null, maxBodyBytes: 1024 * 1024 });
    expect(config.policy).to.deep.equal({ autoStage: true, autoPromote: false, promoteDelayMs: 0, keepReleases: 5 });
    const custom = parseConfig(
      `${minimal}github: { repository: o/r, secretFile: ./secret, maxBodyBytes: 65536 }\npolicy: { ` +
        'autoPromote: true, promoteDelay: 2m, keepReleases: 3 }\n',
      '/etc/openhack',
    );
    expect(custom.github).to.deep.equal({ repository: 'o/r', secretFile: '/etc/openhack/secret', maxBodyBytes: 65536 });
    expect(custom.policy).to.deep.include({ autoPromote: true, promoteDelayMs: 120_000, keepReleases: 3 });
  });

  it('names the key and the value it refuses', () => {
    const cases: Array<[string, RegExp]> = [
      ['github: { secretFile: ./secret }', /github\.repository: is required with github\.secretFile/],
      ['github: { repository: "o/r; rm" }', /github\.repository: must match/],
      ['github: { maxBodyBytes: 100 }', /github\.maxBodyBytes: must be an integer from 1024/],
      ['policy: { keepReleases: 0 }', /policy\.keepReleases: must be an integer from 1 to 1000, got 0/],
      ['policy: { promoteDelay: soon }', /policy\.promoteDelay: must be a duration/],
      ['policy: { autoStage: yes please }', /policy\.autoStage: must be true or false/],
    ];
    for (const [yaml, message] of cases) {
      expect(() => parseConfig(`${minimal}${yaml}\n`, '/etc/openhack'), yaml).to.throw(ValidationError, message);
    }
  });
});
