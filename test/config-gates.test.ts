import { expect } from 'chai';
import { ValidationError } from '../common/errors.js';
import { loadConfig, parseConfig } from '../config/config.js';

const minimal = `
app:
  name: demo
  repo: ./backend
root: ./var
`;

describe('config: gates', () => {
  it('has every gate off unless it is configured', () => {
    expect(parseConfig(minimal, '/etc/openhack').gates).to.deep.include({ smoke: null, canary: null });
    expect(parseConfig(`${minimal}gates: {}\n`, '/etc/openhack').gates.smoke).to.equal(null);
  });

  it('fills the smoke gate defaults: ./SMOKE with a 5 minute deadline', () => {
    expect(parseConfig(`${minimal}gates: { smoke: {} }\n`, '/').gates.smoke).to.deep.equal({
      command: 'SMOKE',
      timeoutMs: 300_000,
    });
    const custom = parseConfig(`${minimal}gates: { smoke: { command: smoke.sh, timeout: 30s } }\n`, '/');
    expect(custom.gates.smoke).to.deep.equal({ command: 'smoke.sh', timeoutMs: 30_000 });
  });

  for (const [yaml, message] of [
    [
      'gates: { smoke: { command: ../../bin/sh } }',
      /gates\.smoke\.command: must be a script name .*"\.\.\/\.\.\/bin\/sh"/,
    ],
    ['gates: { smoke: { command: -rf } }', /gates\.smoke\.command: must be a script name .*"-rf"/],
    ['gates: { smoke: { timeout: soon } }', /gates\.smoke\.timeout: must be a duration .*"soon"/],
    ['gates: { smoke: { command: SMOKE, retries: 3 } }', /gates\.smoke\.retries: unknown key/],
    ['gates: { smok: {} }', /gates\.smok: unknown key/],
    ['gates: { smoke: true }', /gates\.smoke: must be a mapping/],
  ] as const) {
    it(`refuses ${yaml}, naming the key and the value`, () => {
      expect(() => parseConfig(`${minimal}${yaml}\n`, '/')).to.throw(ValidationError, message);
    });
  }

  it('is in the example config, with the smoke gate on', () => {
    const config = loadConfig(new URL('../../config/hypervisor.example.yaml', import.meta.url).pathname);
    expect(config.gates.smoke).to.deep.equal({ command: 'SMOKE', timeoutMs: 300_000 });
  });
});
