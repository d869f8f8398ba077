// config set's rules without a daemon: a change is checked by the file's own reader on the whole
// document, only policy, gates and notify may change, later changes replace earlier ones, and the
// overrides file is laid over the config file at start. Secret values never show in config get.
import { expect } from 'chai';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ValidationError } from '../common/errors.js';
import { validateConfig } from '../config/config.js';
import {
  FileOnlyKeyError,
  loadConfigSource,
  saveOverrides,
  withOverride,
  type ConfigSource,
  type Override,
} from '../config/overrides.js';
import { REDACTED, redactConfig } from '../config/redact.js';

const RAW = {
  app: { name: 'app', repo: '/srv/backend' },
  root: '/var/openhack',
  policy: { autoStage: true, autoPromote: false },
};
const change = (key: string, value: unknown): Override => ({ key, value, by: 'ana', at: '2026-11-27T12:00:00Z' });
const source = (overrides: Override[] = []): ConfigSource => ({
  raw: RAW,
  baseDir: '/etc/openhack',
  overridesFile: '/var/openhack/config-overrides.json',
  overrides,
});

describe('config set: runtime overrides (config/overrides.ts)', () => {
  it('sets a key of policy, checked with the rest of the document; the file document is left as it was', () => {
    const { config, overrides } = withOverride(source(), change('policy.autoPromote', true));
    expect(config.policy).to.include({ autoStage: true, autoPromote: true });
    expect(overrides.map((o) => o.key)).to.deep.equal(['policy.autoPromote']);
    expect(RAW.policy.autoPromote).to.equal(false);
  });

  it('refuses a bad value naming the key, like the file would', () => {
    expect(() => withOverride(source(), change('policy.promoteDelay', 'soon')))
      .to.throw(ValidationError, 'policy.promoteDelay')
      .with.property('path', 'policy.promoteDelay');
    expect(() => withOverride(source(), change('policy.autoPromot', true))).to.throw(ValidationError, 'autoPromot');
  });

  it('refuses every key outside policy, gates and notify as file-only, and keys that are not dotted names', () => {
    for (const key of ['listen.public', 'store.path', 'root', 'github.secretFile', 'app.build.timeout']) {
      expect(() => withOverride(source(), change(key, 'x')), key).to.throw(FileOnlyKeyError, 'config file only');
    }
    for (const key of ['', 'policy.', '../policy', 'policy..autoStage', 'policy.__proto__x.y y']) {
      expect(() => withOverride(source(), change(key, true)), key).to.throw(ValidationError, 'dotted names');
    }
  });

  it('validates gates with the gates schema of this version', () => {
    const { config } = withOverride(source(), change('gates.smoke', { command: 'SMOKE', timeout: '30s' }));
    expect(config.gates.smoke).to.deep.equal({ command: 'SMOKE', timeoutMs: 30_000 });
    expect(() => withOverride(source(), change('gates.smoke.command', '../x'))).to.throw(
      ValidationError,
      'gates.smoke',
    );
    expect(() => withOverride(source(), change('gates.unknown', 1))).to.throw(ValidationError, 'gates.unknown');
  });

  it('a later change to a key replaces earlier changes to it and inside it', () => {
    let s = source();
    for (const c of [change('policy.autoPromote', true), change('policy', { autoStage: false })]) {
      s = { ...s, overrides: withOverride(s, c).overrides };
    }
    const { config, overrides } = withOverride(s, change('policy.promoteDelay', '1m'));
    expect(overrides.map((o) => o.key)).to.deep.equal(['policy', 'policy.promoteDelay']);
    expect(config.policy).to.include({ autoStage: false, autoPromote: false, promoteDelayMs: 60_000 });
  });

  it('lays the saved overrides over the config file at start; the file is saved 0600', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hv-overrides-'));
    try {
      const file = path.join(dir, 'hypervisor.yaml');
      writeFileSync(file, `app: { name: app, repo: /srv/backend }\nroot: ${dir}\npolicy: { autoPromote: false }\n`);
      expect(loadConfigSource(file).config.policy.autoPromote).to.equal(false);
      await saveOverrides(path.join(dir, 'config-overrides.json'), [change('policy.autoPromote', true)]);
      expect(statSync(path.join(dir, 'config-overrides.json')).mode & 0o777).to.equal(0o600);
      const { config, source: loaded } = loadConfigSource(file);
      expect(config.policy.autoPromote).to.equal(true);
      expect(loaded.overrides.map((o) => o.key)).to.deep.equal(['policy.autoPromote']);
      writeFileSync(path.join(dir, 'config-overrides.json'), '{ not json');
      expect(() => loadConfigSource(file)).to.throw(ValidationError, 'config-overrides.json is not valid JSON');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('redacts secret values: URL passwords and query values, secret-named keys; secret file paths stay', () => {
    const config = validateConfig(
      {
        ...RAW,
        store: { kind: 'mongodb', uri: 'mongodb://hv:s3cret@db.example.org:27017' },
        github: { repository: 'o/r', secretFile: '/etc/openhack/github-secret' },
      },
      '/etc/openhack',
    );
    const shown = JSON.stringify(redactConfig(config));
    expect(shown).not.to.contain('s3cret');
    expect(shown).to.contain(`mongodb://hv:${REDACTED}@db.example.org:27017`);
    expect(shown).to.contain('/etc/openhack/github-secret');
  });
});
