// The `notify:` section of the config: each target read key by key with its defaults, and every bad
// value refused naming the key (`notify[1].on[0]`) and the value.
import { expect } from 'chai';
import { ValidationError } from '../common/errors.js';
import { parseConfig } from '../config/config.js';

const minimal = `
app:
  name: demo
  repo: ./backend
root: ./var
`;

const withNotify = (yaml: string): string => `${minimal}notify:\n${yaml}`;

describe('config: notify', () => {
  it('is empty without a notify section', () => {
    expect(parseConfig(minimal, '/etc/openhack').notify).to.deep.equal([]);
  });

  it('reads the three kinds of target with their defaults, resolving files against the config folder', () => {
    const { notify } = parseConfig(
      withNotify(`  - { name: team, kind: slack, urlFile: slack-url, on: [build_failed, test_failed] }
  - { name: ci, kind: webhook, url: 'https://example.org/hook', secretFile: /etc/hook, on: [promoted], timeout: 3s }
  - name: ops
    kind: email
    smtp: { host: smtp.example.org, user: ops, passwordFile: smtp-pass }
    to: [ops@example.org]
    on: [degraded, recovered]
    quietPeriod: 30m
  - { name: relay, kind: email, smtp: { host: 127.0.0.1, port: 25, tls: none }, to: a@b.c, from: hv@b.c,
      on: [disk_low] }
`),
      '/etc/openhack',
    );
    expect(notify).to.deep.equal([
      {
        name: 'team',
        kind: 'slack',
        on: ['build_failed', 'test_failed'],
        quietPeriodMs: 600_000,
        timeoutMs: 10_000,
        urlFile: '/etc/openhack/slack-url',
      },
      {
        name: 'ci',
        kind: 'webhook',
        on: ['promoted'],
        quietPeriodMs: 600_000,
        timeoutMs: 3_000,
        url: 'https://example.org/hook',
        secretFile: '/etc/hook',
      },
      {
        name: 'ops',
        kind: 'email',
        on: ['degraded', 'recovered'],
        quietPeriodMs: 1_800_000,
        timeoutMs: 10_000,
        smtp: {
          host: 'smtp.example.org',
          port: 587,
          tls: 'starttls',
          user: 'ops',
          passwordFile: '/etc/openhack/smtp-pass',
          caFile: null,
        },
        to: ['ops@example.org'],
        from: null,
      },
      {
        name: 'relay',
        kind: 'email',
        on: ['disk_low'],
        quietPeriodMs: 600_000,
        timeoutMs: 10_000,
        smtp: { host: '127.0.0.1', port: 25, tls: 'none', user: null, passwordFile: null, caFile: null },
        to: ['a@b.c'],
        from: 'hv@b.c',
      },
    ]);
  });

  it('takes TLS from the first byte on port 465 unless told otherwise', () => {
    const { notify } = parseConfig(
      withNotify(
        '  - { name: m, kind: email, smtp: { host: mx.example.org, port: 465 }, to: [a@b.c], on: [verified] }\n',
      ),
      '/etc',
    );
    expect(notify[0]).to.deep.include({ kind: 'email' });
    expect(notify[0]!.kind === 'email' && notify[0]!.smtp).to.deep.include({ port: 465, tls: 'tls' });
  });

  const hook = "{ name: h, kind: webhook, url: 'https://x.org/', secretFile: s";
  const bad: Array<[string, string, RegExp]> = [
    ['not a list', 'notify: { name: x }\n', /^notify: must be a list of targets/],
    ['no kind', '  - { name: a, on: [promoted] }\n', /notify\[0\]\.kind: must be one of slack, webhook, email, got/],
    ['an unknown kind', '  - { name: a, kind: sms, on: [promoted] }\n', /notify\[0\]\.kind: .*"sms"/],
    ['a bad name', `  - ${hook.replace('name: h', 'name: Team!')}, on: [promoted] }\n`, /notify\[0\]\.name: .*"Team!"/],
    [
      'two targets of one name',
      `  - ${hook}, on: [promoted] }\n  - ${hook}, on: [verified] }\n`,
      /notify\[1\]\.name: "h" is the name of an earlier target/,
    ],
    ['no events', `  - ${hook}, on: [] }\n`, /notify\[0\]\.on: must be a non-empty list of events/],
    ['an unknown event', `  - ${hook}, on: [promoted, deployed] }\n`, /notify\[0\]\.on\[1\]: .*"deployed"/],
    ['an event twice', `  - ${hook}, on: [promoted, promoted] }\n`, /notify\[0\]\.on\[1\]: promoted is listed twice/],
    ['a bad quiet period', `  - ${hook}, on: [degraded], quietPeriod: soon }\n`, /notify\[0\]\.quietPeriod: .*"soon"/],
    ['a zero timeout', `  - ${hook}, on: [degraded], timeout: 0s }\n`, /notify\[0\]\.timeout: must be longer than 0/],
    [
      'a webhook URL that is not http(s)',
      "  - { name: h, kind: webhook, url: 'ftp://x.org/', secretFile: s, on: [promoted] }\n",
      /notify\[0\]\.url: must be an http\(s\) URL/,
    ],
    [
      'a webhook URL with credentials in it',
      "  - { name: h, kind: webhook, url: 'https://u:p@x.org/', secretFile: s, on: [promoted] }\n",
      /notify\[0\]\.url: must be an http\(s\) URL without credentials/,
    ],
    [
      'a webhook without its secret',
      "  - { name: h, kind: webhook, url: 'https://x.org/', on: [promoted] }\n",
      /notify\[0\]\.secretFile/,
    ],
    ['a slack target without its URL file', '  - { name: s, kind: slack, on: [promoted] }\n', /notify\[0\]\.urlFile/],
    [
      'a key of another kind',
      '  - { name: s, kind: slack, urlFile: f, url: x, on: [promoted] }\n',
      /notify\[0\]\.url: unknown key/,
    ],
    [
      'an SMTP user without a password file',
      '  - { name: m, kind: email, smtp: { host: mx, user: ops }, to: [a@b.c], on: [promoted] }\n',
      /notify\[0\]\.smtp\.passwordFile: is required with smtp\.user/,
    ],
    [
      'an unknown SMTP TLS mode',
      '  - { name: m, kind: email, smtp: { host: mx, tls: ssl }, to: [a@b.c], on: [promoted] }\n',
      /notify\[0\]\.smtp\.tls: must be one of tls, starttls, none, got "ssl"/,
    ],
    [
      'a bad address',
      '  - { name: m, kind: email, smtp: { host: mx }, to: [ops], on: [promoted] }\n',
      /notify\[0\]\.to\[0\]: must be an email address, got "ops"/,
    ],
  ];
  for (const [what, yaml, message] of bad) {
    it(`refuses ${what}, naming the key`, () => {
      const text = yaml.startsWith('notify:') ? `${minimal}${yaml}` : withNotify(yaml);
      expect(() => parseConfig(text, '/etc')).to.throw(ValidationError, message);
    });
  }
});
