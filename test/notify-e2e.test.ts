// Notifications end to end, as an operator's receivers see them: the real `hypervisor` binary with
// real builds of the example backend (process units), a real HTTP receiver that verifies each
// signature, a real SMTP server whose mail is parsed with mailparser, and hyper-cli. A failing TEST
// is told once per target, a flaky receiver gets it on the third try while the loop goes on, the
// next passing release answers it, a color that stops answering is told degraded then recovered,
// and a restart repeats nothing.
import { expect } from 'chai';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { simpleGit } from 'simple-git';
import type { StatusAnswer } from '../api/wire.js';
import type { EventRecord, ReleaseRecord } from '../common/types.js';
import { runBin, scratchDir, startDaemonProcess, type DaemonProcess } from '../harness/daemon-process.js';
import { createExampleRepo, type ExampleRepo } from '../harness/example-repo.js';
import { post, signed, tagPush, TEST_SECRET } from '../harness/github-deliveries.js';
import { request, type Answer } from './api-harness.js';
import { removeProcessUnits, writeTestConfig, type TestConfig } from './harness/daemon-config.js';
import {
  startReceiver,
  startSmtpSink,
  verifyDelivery,
  type Receiver,
  type SmtpSink,
} from './harness/notify-receiver.js';
import { loginOperator } from './harness/operator.js';
import { waitFor } from './harness/wait.js';

const REPOSITORY = 'test-org/backend';
const HOOK_SECRET = 'the-notification-hook-secret';
const V1 = 'v26.11.27.0';
const FAILING = 'v26.11.27.1';
const PASSING = 'v26.11.27.2';
const AFTER_RESTART = 'v26.11.27.3';

type Body = Record<string, unknown> & { kind: string; tag: string | null; color: string | null };

describe('notifications end to end (real daemon, real builds, real receivers)', function () {
  this.timeout(180_000);
  let scratch: { dir: string; remove(): Promise<void> };
  let repo: ExampleRepo;
  let receiver: Receiver;
  let smtp: SmtpSink;
  let daemon: DaemonProcess | undefined;
  let config: TestConfig | undefined;
  const seen = new Set<string>();

  const admin = <T>(method: string, route: string, body?: unknown): Promise<Answer<T>> =>
    request<T>({ socketPath: config!.socket }, method, route, body === undefined ? {} : { body });
  const status = async (): Promise<StatusAnswer> => (await admin<StatusAnswer>('GET', '/status')).json;
  const events = async (): Promise<EventRecord[]> =>
    (await admin<{ events: EventRecord[] }>('GET', '/events?limit=1000')).json.events;
  /** Every delivery to `route` that was answered 2xx, each verified as a receiver must. */
  const delivered = (route: string): Body[] =>
    receiver
      .to(route)
      .filter((r) => r.status === 200)
      .map((r) => {
        const verified = verifyDelivery(HOOK_SECRET, r, new Set());
        expect(verified.why, `${route}: ${r.raw}`).to.equal('ok');
        return verified.body as Body;
      });
  const hook = (kind: string, tag?: string): Promise<Body> =>
    waitFor(
      `${kind}${tag ? ` ${tag}` : ''} at the hook`,
      async () => delivered('/hook').find((b) => b.kind === kind && (tag === undefined || b.tag === tag)),
      90_000,
    );
  const push = async (tag: string): Promise<void> => {
    const sha = (await simpleGit(repo.path).revparse([`${tag}^{commit}`])).trim();
    const answer = await post(config!.publicUrl, signed(TEST_SECRET, 'push', tagPush(tag, sha, REPOSITORY, 'ana')));
    expect(answer.status, JSON.stringify(answer.json)).to.equal(202);
  };
  const built = (tag: string): Promise<ReleaseRecord> =>
    waitFor(
      `${tag} built`,
      async () => {
        const answer = await admin<{ release: ReleaseRecord }>('GET', `/releases/${tag}`);
        return answer.status === 200 && ['succeeded', 'failed'].includes(answer.json.release.status)
          ? answer.json.release
          : null;
      },
      90_000,
    );
  const start = async (): Promise<void> => {
    daemon = await startDaemonProcess(config!.path, {}, config!.publicUrl);
  };

  before(async () => {
    scratch = await scratchDir('hv-notify-e2e-');
    repo = await createExampleRepo(path.join(scratch.dir, 'backend'));
    await repo.release(V1.slice(1));
    receiver = await startReceiver((route, n) => ({ status: route === '/flaky' && n < 2 ? 500 : 200 }));
    smtp = await startSmtpSink('ops', 'smtp-password-1');
    const file = async (name: string, text: string): Promise<string> => {
      const at = path.join(scratch.dir, name);
      await writeFile(at, `${text}\n`, { mode: 0o600 });
      return at;
    };
    const githubSecret = await file('github-secret', TEST_SECRET);
    const hookSecret = await file('hook-secret', HOOK_SECRET);
    const smtpPassword = await file('smtp-password', 'smtp-password-1');
    config = await writeTestConfig({
      appName: `notify-${process.pid}`,
      dir: scratch.dir,
      repo: repo.path,
      scriptTimeouts: { build: '30s', test: '30s' },
      extra: `github: { repository: ${REPOSITORY}, secretFile: ${githubSecret} }
policy: { autoStage: false, autoPromote: false }
notify:
  - { name: hook, kind: webhook, url: '${receiver.url}/hook', secretFile: ${hookSecret},
      on: [test_failed, release_ready, degraded, recovered] }
  - { name: flaky, kind: webhook, url: '${receiver.url}/flaky', secretFile: ${hookSecret}, on: [test_failed] }
  - name: mail
    kind: email
    smtp: { host: 127.0.0.1, port: ${smtp.port}, tls: none, user: ops, passwordFile: ${smtpPassword} }
    to: [ops@example.org]
    from: hypervisor@example.org
    on: [test_failed]
  - { name: nowhere, kind: webhook, url: '${receiver.url.replace(/:\d+$/, ':9')}/x', secretFile: ${hookSecret},
      on: [promoted], timeout: 2s }`,
    });
    await start();
    const put = await admin('PUT', '/desired', { active: 'blue', colors: { blue: { tag: V1 } } });
    expect(put.status, put.text).to.equal(201);
    await hook('release_ready', V1);
  });

  after(async () => {
    await daemon?.stop();
    if (config) await removeProcessUnits(config);
    await receiver?.close();
    await smtp?.close();
    await scratch?.remove();
  });

  it('tells a failing TEST once per target: signed, with the tag and the failing log lines, and by email', async () => {
    await repo.commitFile(
      'TEST',
      '#!/bin/sh\necho "checking the contract"\necho "boom: /ping answered 500" >&2\nexit 1\n',
      'break TEST',
    );
    await repo.release(FAILING.slice(1));
    await push(FAILING);
    expect(await built(FAILING)).to.include({ status: 'failed' });
    const body = await hook('test_failed', FAILING);
    const raw = receiver.to('/hook').find((r) => r.raw.includes('"test_failed"'))!;
    expect(verifyDelivery(HOOK_SECRET, raw, seen).why, 'HMAC, timestamp and a new delivery id').to.equal('ok');
    expect(verifyDelivery(HOOK_SECRET, raw, seen).why, 'the same delivery again is a replay').to.match(/^replayed/);
    expect(body).to.deep.include({ kind: 'test_failed', tag: FAILING, step: 'test', attempt: 1 });
    expect(body.command).to.equal(`hyper-cli logs ${FAILING} --test`);
    const log = body.log as { path: string; lines: string[] };
    expect(log.path).to.equal(path.join(config!.root, 'logs', FAILING, 'test.log'));
    expect(log.lines).to.include('boom: /ping answered 500');
    expect(log.lines.length).to.be.at.most(20);

    const mail = await waitFor('the mail', async () => smtp.mails.find((m) => m.subject?.includes(FAILING)), 30_000);
    expect(mail.subject).to.equal(`[${config!.appName}] test_failed ${FAILING} (test)`);
    expect(mail.text).to.include('boom: /ping answered 500');
    expect(mail.text).to.include(`more: hyper-cli logs ${FAILING} --test`);
    expect(smtp.logins).to.deep.include({ user: 'ops', ok: true });
  });

  it('delivers to a receiver that answers 500 twice on the third try, while the loop goes on', async () => {
    const first = await waitFor('the first try at flaky', async () => receiver.to('/flaky')[0], 30_000);
    const passAtFirstTry = Date.parse((await status()).status.lastReconcileAt!);
    const third = await waitFor('the third try at flaky', async () => receiver.to('/flaky')[2], 30_000);
    const passAtThirdTry = Date.parse((await status()).status.lastReconcileAt!);
    expect(receiver.to('/flaky').map((r) => r.status)).to.deep.equal([500, 500, 200]);
    expect(new Set(receiver.to('/flaky').map((r) => r.headers['x-hypervisor-delivery'])).size).to.equal(1);
    expect(third.at - first.at, 'two backoffs').to.be.at.least(9_000);
    expect(passAtThirdTry - passAtFirstTry, 'passes went on during the retries').to.be.at.least(5_000);
    const outcomes = (await events()).filter((e) => e.data?.target === 'flaky').map((e) => e.reason);
    expect(outcomes).to.deep.equal(['NotificationRetrying', 'NotificationRetrying', 'NotificationDelivered']);
    // By now the other targets had all the time to repeat themselves: they did not.
    expect(delivered('/hook').filter((b) => b.kind === 'test_failed')).to.have.length(1);
    expect(smtp.mails.filter((m) => m.subject?.includes('test_failed'))).to.have.length(1);
  });

  it('answers the failure with the release_ready of the next passing release of the line', async () => {
    const git = simpleGit(repo.path);
    await repo.commitFile('TEST', await git.show([`${V1}:TEST`]), 'TEST passes again');
    await repo.release(PASSING.slice(1));
    await push(PASSING);
    const ready = await hook('release_ready', PASSING);
    expect(ready.answers).to.deep.include({ kind: 'test_failed', tag: FAILING });
    expect(ready.command).to.equal(`hyper-cli logs ${PASSING} --test`);
  });

  it('tells degraded then recovered when the serving color stops answering and heals', async () => {
    const before = delivered('/hook').length;
    const pid = (await status()).status.colors!.blue.unit.mainPid!;
    process.kill(pid, 'SIGSTOP');
    try {
      await hook('degraded');
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await hook('recovered');
    const told = delivered('/hook').slice(before);
    expect(told.map((b) => [b.kind, b.color, b.tag])).to.deep.equal([
      ['degraded', 'blue', V1],
      ['recovered', 'blue', V1],
    ]);
    expect(told[1]!.answers).to.deep.include({ kind: 'degraded' });
  });

  it('tells how a test message went: delivered (exit 0), failed with why (exit 1), unknown name (exit 2)', async () => {
    const sessionFile = path.join(scratch.dir, 'cli-session.json');
    await loginOperator({
      socket: config!.socket,
      publicUrl: config!.publicUrl,
      sessionFile,
      username: 'olga',
      password: 'operator-password-1',
    });
    const env = { ...process.env, HYPER_CLI_SESSION: sessionFile };
    const cli = (name: string, ...flags: string[]) => runBin('hyper-cli', ['notify', 'test', name, ...flags], env);
    const ok = await cli('hook');
    expect(ok.code, ok.stderr).to.equal(0);
    expect(ok.stdout).to.match(/^test message to hook \(webhook\) delivered in \d+ ms\n$/);
    expect(delivered('/hook').at(-1)).to.deep.include({ kind: 'test', tag: null });
    const failed = await cli('nowhere');
    expect(failed.code).to.equal(1);
    expect(failed.stderr).to.match(/^error: test message to nowhere \(webhook\) failed after \d+ ms: fetch failed/);
    const json = await cli('nowhere', '--json');
    expect(json.code).to.equal(1);
    expect(JSON.parse(json.stdout)).to.deep.include({ target: 'nowhere', outcome: 'failed' });
    const unknown = await cli('nope');
    expect(unknown.code).to.equal(2);
    expect(unknown.stderr).to.match(/no notify target "nope"; the targets are: hook, flaky, mail, nowhere/);
  });

  it('repeats nothing after a restart, and tells what happens next', async () => {
    const before = delivered('/hook').map((b) => `${b.kind} ${b.tag}`);
    await daemon!.stop();
    await start();
    await repo.release(AFTER_RESTART.slice(1));
    await push(AFTER_RESTART);
    await hook('release_ready', AFTER_RESTART);
    expect(delivered('/hook').map((b) => `${b.kind} ${b.tag}`)).to.deep.equal([
      ...before,
      `release_ready ${AFTER_RESTART}`,
    ]);
    expect(receiver.to('/flaky')).to.have.length(3);
    expect(smtp.mails).to.have.length(1);
  });
});
