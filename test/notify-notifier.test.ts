// The notifier against a real store file and real receivers (node:http, smtp-server): events in,
// signed deliveries out. The clock is injected where the quiet period matters; retries use short
// real backoffs. Nothing sleeps: every wait is on an observed state.
import { expect } from 'chai';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { NotFoundError } from '../common/errors.js';
import type { NotifyTarget } from '../config/notify.js';
import { openChannels } from '../notify/channels.js';
import { Notifier, type NotifierOptions } from '../notify/notifier.js';
import { NotifyConfigError } from '../notify/secrets.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';
import { scratchDir } from '../harness/daemon-process.js';
import { startReceiver, startSmtpSink, verifyDelivery, type Receiver } from './harness/notify-receiver.js';
import { waitFor } from './harness/wait.js';

const SECRET = 'a-webhook-secret-of-some-length';
const MIN = 60_000;

describe('notify: the notifier (real store, real receivers)', function () {
  this.timeout(30_000);
  let scratch: { dir: string; remove(): Promise<void> };
  let receiver: Receiver;
  const open: Array<{ close(): Promise<void> }> = [];

  beforeEach(async () => {
    scratch = await scratchDir('hv-notify-');
    receiver = await startReceiver((p, n) => {
      if (p === '/slow') return { status: 200, stallMs: 5_000 };
      if (p === '/late') return { status: 200, stallMs: 400 };
      if (p === '/flaky') return { status: n < 2 ? 500 : 200 };
      return { status: 200 };
    });
    await writeFile(path.join(scratch.dir, 'secret'), `${SECRET}\n`, { mode: 0o600 });
  });
  afterEach(async () => {
    for (const part of open.splice(0).reverse()) await part.close();
    await receiver.close();
    await scratch.remove();
  });

  type WebhookTarget = Extract<NotifyTarget, { kind: 'webhook' }>;
  const webhook = (name: string, route: string, on: NotifyTarget['on'], timeoutMs = 2_000): WebhookTarget => ({
    name,
    kind: 'webhook',
    on,
    quietPeriodMs: 10 * MIN,
    timeoutMs,
    url: `${receiver.url}${route}`,
    secretFile: path.join(scratch.dir, 'secret'),
  });

  async function store(): Promise<Store> {
    const s = await openStore({ kind: 'embedded', path: path.join(scratch.dir, 'hv.db') });
    open.push(s);
    return s;
  }

  async function notifier(s: Store, targets: NotifyTarget[], extra: Partial<NotifierOptions> = {}): Promise<Notifier> {
    const n = new Notifier({
      store: s,
      targets,
      channels: await openChannels(targets, 'test'),
      app: 'demo',
      host: 'h1',
      logsDir: path.join(scratch.dir, 'logs'),
      pollMs: 50,
      dispatch: { tickMs: 50, backoffMs: [100, 200] },
      log: () => undefined,
      ...extra,
    });
    await n.start();
    open.push(n);
    return n;
  }

  const bodies = (route: string): Array<Record<string, unknown>> =>
    receiver
      .to(route)
      .filter((r) => r.status === 200)
      .map((r) => JSON.parse(r.raw) as Record<string, unknown>);

  it('tells a failed TEST once, signed, with its log lines; a restart neither repeats nor loses one', async () => {
    const logs = path.join(scratch.dir, 'logs', 'v26.11.27.2');
    await mkdir(logs, { recursive: true });
    const lines = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`);
    await writeFile(path.join(logs, 'test.log'), `${lines.join('\n')}\n`);
    const s = await store();
    const first = await notifier(s, [webhook('hook', '/hook', ['test_failed', 'release_ready'])]);
    const failed = { reason: 'BuildFailed', message: 'build of v26.11.27.2 failed: TEST exited with code 1' };
    await s.appendEvent({ ...failed, data: { tag: 'v26.11.27.2', status: 'failed', step: 'test' } });
    await waitFor('the test_failed delivery', async () => bodies('/hook')[0]);
    const seen = new Set<string>();
    const verified = verifyDelivery(SECRET, receiver.to('/hook')[0]!, seen);
    expect(verified.why).to.equal('ok');
    expect(verified.body).to.deep.include({ kind: 'test_failed', tag: 'v26.11.27.2', step: 'test', attempt: 1 });
    expect(verified.body!.title).to.equal('[demo] test_failed v26.11.27.2 (test)');
    expect(verified.body!.log).to.deep.equal({ path: path.join(logs, 'test.log'), lines: lines.slice(10) });
    expect(verified.body!.command).to.equal('hyper-cli logs v26.11.27.2 --test');
    await first.close();

    // The same release failing again while no notifier runs, then a passing one: one new message.
    await s.appendEvent({ ...failed, data: { tag: 'v26.11.27.2', status: 'failed', step: 'test' } });
    const passed = await s.appendEvent({
      reason: 'BuildSucceeded',
      message: 'build of v26.11.27.3 succeeded',
      data: { tag: 'v26.11.27.3' },
    });
    await notifier(s, [webhook('hook', '/hook', ['test_failed', 'release_ready'])]);
    await waitFor('the release_ready delivery', async () => bodies('/hook')[1]);
    await waitFor('the cursor past it', async () => ((await s.notifyCursor())! >= passed.id ? true : null));
    const all = bodies('/hook');
    expect(all.map((b) => [b.kind, b.tag])).to.deep.equal([
      ['test_failed', 'v26.11.27.2'],
      ['release_ready', 'v26.11.27.3'],
    ]);
    expect(all[1]!.answers).to.deep.include({ kind: 'test_failed', tag: 'v26.11.27.2' });
    expect(verifyDelivery(SECRET, receiver.to('/hook')[1]!, seen).why).to.equal('ok');
  });

  it('lets a try in flight finish when it stops: the restart does not send it again', async () => {
    const s = await store();
    const targets = [webhook('late', '/late', ['promoted'])];
    const first = await notifier(s, targets);
    const promoted = async (deployment: number): Promise<number> =>
      (await s.appendEvent({ reason: 'Promoted', color: 'green', message: 'v2', data: { tag: 'v2', deployment } })).id;
    const one = await promoted(1);
    // Taken for sending, its answer not back yet (the receiver answers after 400 ms): stop now.
    await waitFor('the try in flight', async () => ((await s.listNotifications(1))[0]?.leaseUntil ? true : null));
    await first.close();
    expect((await s.listNotifications(1)).map((n) => [n.state, n.attempts])).to.deep.equal([['delivered', 1]]);
    await notifier(s, targets);
    const two = await promoted(2);
    await waitFor('the second delivery', async () => bodies('/late')[1]);
    expect(bodies('/late').map((b) => (b.event as { id: number }).id)).to.deep.equal([one, two]);
  });

  it('collapses repeats, holds a flap until the quiet period ends, cancels it if the color recovers', async () => {
    let now = Date.now();
    const s = await store();
    await notifier(s, [webhook('ops', '/ops', ['degraded', 'recovered'])], { now: () => now });
    const phase = async (reason: string): Promise<void> => {
      await s.appendEvent({ reason, color: 'blue', message: `blue is ${reason.slice(5)}`, data: { tag: 'v1' } });
    };
    const kinds = (): string[] => bodies('/ops').map((b) => String(b.kind));
    await phase('PhaseDegraded');
    await waitUntilKinds(['degraded']);
    now += MIN;
    await phase('PhaseFailed'); // the same incident, a minute later: collapsed
    now += MIN;
    await phase('PhaseReady');
    await waitUntilKinds(['degraded', 'recovered']);
    now += MIN;
    await phase('PhaseDegraded'); // a flap within the quiet period: held
    now += MIN;
    await phase('PhaseReady'); // answered before it was due: cancelled, nothing sent
    now += MIN;
    await phase('PhaseDegraded'); // held again
    const outbox = async (): Promise<string[]> => (await s.listNotifications(10)).map((n) => `${n.kind}:${n.state}`);
    await waitFor('the held degraded', async () => ((await outbox())[0] === 'degraded:held' ? true : null));
    expect(await outbox()).to.deep.equal([
      'degraded:held',
      'degraded:cancelled',
      'recovered:delivered',
      'degraded:delivered',
    ]);
    expect(kinds()).to.deep.equal(['degraded', 'recovered']);
    now += 5 * MIN; // the quiet period of the first degraded is over: the held one is due
    await waitUntilKinds(['degraded', 'recovered', 'degraded']);

    async function waitUntilKinds(want: string[]): Promise<void> {
      await waitFor(`deliveries ${want.join(', ')}`, async () => (kinds().length >= want.length ? true : null));
      expect(kinds()).to.deep.equal(want);
    }
  });

  it('retries a failing target with backoff while a slow one holds up only itself; every try is an event', async () => {
    const s = await store();
    await notifier(s, [
      webhook('slow', '/slow', ['promoted'], 300),
      webhook('flaky', '/flaky', ['promoted']),
      webhook('fast', '/fast', ['promoted']),
    ]);
    await s.appendEvent({
      reason: 'Promoted',
      color: 'green',
      message: 'v2 serves',
      data: { tag: 'v2', deployment: 1 },
    });
    await waitFor('the fast delivery', async () => bodies('/fast')[0]);
    expect(receiver.to('/slow'), 'the slow target is still in its first try').to.have.length(0);
    await waitFor('the third try of flaky', async () => bodies('/flaky')[0]);
    const flaky = receiver.to('/flaky');
    expect(flaky.map((r) => r.status)).to.deep.equal([500, 500, 200]);
    expect(new Set(flaky.map((r) => r.headers['x-hypervisor-delivery'])).size, 'one delivery id').to.equal(1);
    expect(flaky.map((r) => (JSON.parse(r.raw) as { attempt: number }).attempt)).to.deep.equal([1, 2, 3]);
    expect(flaky[1]!.at - flaky[0]!.at).to.be.at.least(90);
    const reasons = async (target: string): Promise<string[]> =>
      (await s.listEventsAfter(0, 100)).filter((e) => e.data?.target === target).map((e) => e.reason);
    await waitFor('slow to fail three times', async () =>
      (await reasons('slow')).includes('NotificationFailed') ? true : null,
    );
    expect(await reasons('slow')).to.deep.equal(['NotificationRetrying', 'NotificationRetrying', 'NotificationFailed']);
    expect(await reasons('flaky')).to.deep.equal([
      'NotificationRetrying',
      'NotificationRetrying',
      'NotificationDelivered',
    ]);
    const failed = (await s.listEventsAfter(0, 100)).find((e) => e.reason === 'NotificationFailed')!;
    expect(failed.message).to.match(/promoted v2 to slow: failed after 3 tries: no answer within 300 ms/);
    expect((await s.listNotifications(10)).map((n) => [n.target, n.state, n.attempts])).to.deep.include.members([
      ['slow', 'failed', 3],
      ['flaky', 'delivered', 3],
      ['fast', 'delivered', 1],
    ]);
  });

  it('sends a test message on demand: delivered, failed with the reason, or an unknown name', async () => {
    const s = await store();
    const refused = await startReceiver(() => ({ status: 403 }));
    open.push(refused);
    const n = await notifier(s, [
      webhook('hook', '/hook', ['promoted']),
      { ...webhook('no', '/', ['promoted']), url: `${refused.url}/x` },
    ]);
    expect(await n.test('hook', 'ana')).to.deep.include({
      target: 'hook',
      kind: 'webhook',
      outcome: 'delivered',
      error: null,
    });
    const body = verifyDelivery(SECRET, receiver.to('/hook')[0]!, new Set()).body!;
    expect(body).to.deep.include({ kind: 'test', tag: null });
    expect(body.summary).to.match(/a test message, sent by ana/);
    expect(await n.test('no', 'ana')).to.deep.include({ outcome: 'failed', error: 'HTTP 403: refused with 403' });
    expect(await n.test('nope', 'ana').catch((e: unknown) => e)).to.be.instanceOf(NotFoundError);
    const tested = (await s.listEventsAfter(0, 10)).filter((e) => e.reason === 'NotificationTested');
    expect(tested.map((e) => [e.actor, e.data?.target, e.data?.outcome])).to.deep.equal([
      ['ana', 'hook', 'delivered'],
      ['ana', 'no', 'failed'],
    ]);
  });

  it('mails through SMTP, the subject naming kind and tag; a wrong password is why it failed', async () => {
    const sink = await startSmtpSink('ops', 'mail-password');
    open.push(sink);
    const passwordFile = path.join(scratch.dir, 'smtp-pass');
    await writeFile(passwordFile, 'mail-password\n', { mode: 0o600 });
    const mail = (name: string, file: string): NotifyTarget => ({
      name,
      kind: 'email',
      on: ['promoted'],
      quietPeriodMs: MIN,
      timeoutMs: 5_000,
      smtp: { host: '127.0.0.1', port: sink.port, tls: 'none', user: 'ops', passwordFile: file, caFile: null },
      to: ['team@example.org'],
      from: 'hv@example.org',
    });
    const wrongFile = path.join(scratch.dir, 'wrong-pass');
    await writeFile(wrongFile, 'not-it\n', { mode: 0o600 });
    const s = await store();
    const n = await notifier(s, [mail('mail', passwordFile), mail('wrong', wrongFile)]);
    await s.appendEvent({
      reason: 'Promoted',
      color: 'green',
      message: 'v2 serves',
      data: { tag: 'v2', deployment: 3 },
    });
    const received = await waitFor('the mail', async () => sink.mails[0]);
    expect(received.subject).to.equal('[demo] promoted v2 on green');
    expect(received.text).to.match(/^v2 serves\n/);
    expect(received.text).to.match(/more: hyper-cli history/);
    expect(received.to && !Array.isArray(received.to) && received.to.text).to.equal('team@example.org');
    expect(await n.test('wrong', 'ana')).to.deep.include({ outcome: 'failed' });
    expect((await n.test('wrong', 'ana')).error).to.match(/^SMTP 127\.0\.0\.1:\d+: .*(auth|login|535)/i);
    expect(sink.logins.filter((l) => !l.ok).length).to.be.at.least(1);
  });

  it('refuses a secret others can read, a missing one, or a Slack file without a URL, naming the key', async () => {
    const loose = path.join(scratch.dir, 'loose');
    await writeFile(loose, `${SECRET}\n`, { mode: 0o644 });
    const notUrl = path.join(scratch.dir, 'not-url');
    await writeFile(notUrl, 'hooks.slack.com/services/x\n', { mode: 0o600 });
    const cases: Array<[NotifyTarget[], RegExp]> = [
      [[{ ...webhook('a', '/', ['promoted']), secretFile: loose }], /notify\[0\]\.secretFile .* has mode 0644/],
      [
        [webhook('a', '/', ['promoted']), { ...webhook('b', '/', ['promoted']), secretFile: '/nope' }],
        /notify\[1\]\.secretFile: cannot read \/nope/,
      ],
      [
        [{ name: 's', kind: 'slack', on: ['promoted'], quietPeriodMs: 1, timeoutMs: 1, urlFile: notUrl }],
        /notify\[0\]\.urlFile: .* must hold one http\(s\) URL/,
      ],
    ];
    for (const [targets, message] of cases) {
      const err = await openChannels(targets, 'test').catch((e: unknown) => e);
      expect(err).to.be.instanceOf(NotifyConfigError);
      expect((err as Error).message).to.match(message);
    }
  });
});
