// The signature check and the delivery classifier on their own, with GitHub's real payloads.
import { expect } from 'chai';
import { createHmac } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  readWebhookSecret,
  signGithubBody,
  verifyGithubSignature,
  WebhookSecretError,
} from '../api/github-signature.js';
import { classifyDelivery } from '../api/routes/webhooks.js';
import { payload, tagCreate, tagPush } from '../harness/github-deliveries.js';

const SECRET = Buffer.from("It's a Secret to Everybody");
const BODY = Buffer.from('Hello, World!');

describe('webhooks: signature and classification', () => {
  it("accepts the example from GitHub's documentation", () => {
    // docs.github.com "Validating webhook deliveries": this secret and body give this signature.
    const header = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
    expect(signGithubBody(SECRET, BODY)).to.equal(header);
    expect(verifyGithubSignature(SECRET, BODY, header)).to.deep.equal({ ok: true });
    expect(verifyGithubSignature(SECRET, BODY, header.toUpperCase().replace('SHA256=', 'sha256='))).to.deep.equal({
      ok: true,
    });
  });

  it('refuses a missing, sha1-only, malformed, truncated or wrong signature, saying which', () => {
    const good = signGithubBody(SECRET, BODY);
    const sha1 = `sha1=${createHmac('sha1', SECRET).update(BODY).digest('hex')}`;
    const cases: Array<[string | undefined, string | undefined, RegExp]> = [
      [undefined, undefined, /missing/],
      ['', undefined, /missing/],
      [undefined, sha1, /only a sha1/],
      [sha1, undefined, /must be sha256=/],
      [good.slice(0, -1), undefined, /must be sha256=/],
      [`${good}0`, undefined, /must be sha256=/],
      [good.replace('sha256=', 'sha256 '), undefined, /must be sha256=/],
      [`${good}, ${good}`, undefined, /must be sha256=/],
      [signGithubBody('another secret', BODY), undefined, /does not match/],
      [signGithubBody(SECRET, 'Hello, World?'), undefined, /does not match/],
    ];
    for (const [header, legacy, reason] of cases) {
      const verdict = verifyGithubSignature(SECRET, BODY, header, legacy);
      expect(verdict.ok, String(header)).to.equal(false);
      expect(verdict.ok ? '' : verdict.reason, String(header)).to.match(reason);
    }
  });

  it('reads the secret file without its trailing newline, and refuses an empty or short one', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'hv-secret-'));
    try {
      const file = path.join(dir, 'secret');
      await writeFile(file, 'a secret of some length\n', { mode: 0o600 });
      expect((await readWebhookSecret(file)).toString()).to.equal('a secret of some length');
      await chmod(file, 0o640);
      await readWebhookSecret(file).then(
        () => expect.fail('must refuse a secret its group can read'),
        (err: unknown) =>
          expect(err)
            .to.be.instanceOf(WebhookSecretError)
            .with.property('message')
            .that.equals(
              `github.secretFile ${file} has mode 0640, readable by its group: a secret must be ` +
                `readable by its owner only; fix: chmod 600 ${file}`,
            ),
      );
      await chmod(file, 0o600);
      await writeFile(file, '\n');
      await readWebhookSecret(file).then(
        () => expect.fail('must refuse'),
        (err: unknown) => expect(err).to.be.instanceOf(WebhookSecretError),
      );
      await readWebhookSecret(path.join(dir, 'none')).then(
        () => expect.fail('must refuse'),
        (err: unknown) =>
          expect(err)
            .to.be.instanceOf(WebhookSecretError)
            .with.property('message')
            .that.matches(/github\.secretFile: cannot read/),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('acts on tag creations only', () => {
    const sha = 'a'.repeat(40);
    expect(classifyDelivery('push', tagPush('v26.11.27.0', sha, 'o/r', 'ana'))).to.deep.equal({
      kind: 'tag',
      tag: 'v26.11.27.0',
      sha,
      actor: 'github:ana',
    });
    expect(classifyDelivery('create', tagCreate('v26.11.27.0', 'o/r'))).to.deep.equal({
      kind: 'tag',
      tag: 'v26.11.27.0',
      sha: null,
      actor: 'github:Codertocat',
    });
    expect(classifyDelivery('ping', payload('ping-payload.json'))).to.deep.equal({ kind: 'ping' });
    for (const [event, body] of [
      ['push', payload('push-payload.json')],
      ['push', payload('push-with-new-branch.payload.json')],
      ['create', { ...payload('create-payload.json'), ref_type: 'branch' }],
      ['delete', payload('delete-payload.json')],
      ['release', {}],
    ] as const) {
      expect(classifyDelivery(event, body).kind, `${event} ${JSON.stringify(body).slice(0, 40)}`).to.equal('ignored');
    }
    // A pusher name that is not a login does not reach a revision's author.
    expect(classifyDelivery('push', tagPush('v1', null, 'o/r', 'evil\nname'))).to.deep.include({
      actor: 'github:Codertocat',
    });
  });
});
