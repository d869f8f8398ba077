import { expect } from 'chai';
import { ValidationError } from '../common/errors.js';
import { loadConfig, parseConfig } from '../config/config.js';

const minimal = `
app:
  name: demo
  repo: ./backend
root: ./var
`;

describe('config: gates.canary', () => {
  it('is off unless configured, and reads steps and a one minute step by default', () => {
    expect(parseConfig(minimal, '/').gates.canary).to.equal(null);
    expect(parseConfig(`${minimal}gates: { canary: { steps: [10, 50] } }\n`, '/').gates.canary).to.deep.equal({
      steps: [10, 50],
      stepDurationMs: 60_000,
    });
    const custom = parseConfig(`${minimal}gates: { canary: { steps: [0.5, 5, 25.25], stepDuration: 30s } }\n`, '/');
    expect(custom.gates.canary).to.deep.equal({ steps: [0.5, 5, 25.25], stepDurationMs: 30_000 });
  });

  for (const [yaml, message] of [
    ['gates: { canary: {} }', /gates\.canary\.steps: must be a list of 1 to 10 per cents .*undefined/],
    ['gates: { canary: { steps: [] } }', /gates\.canary\.steps: must be a list of 1 to 10 per cents/],
    ['gates: { canary: { steps: 10 } }', /gates\.canary\.steps: must be a list .*10/],
    [
      'gates: { canary: { steps: [10, 100] } }',
      /gates\.canary\.steps\[1\]: must be a per cent above 0 and below 100.*100/,
    ],
    ['gates: { canary: { steps: [0] } }', /gates\.canary\.steps\[0\]: must be a per cent above 0/],
    ['gates: { canary: { steps: ["10%"] } }', /gates\.canary\.steps\[0\]: must be a per cent .*"10%"/],
    [
      'gates: { canary: { steps: [50, 10] } }',
      /gates\.canary\.steps\[1\]: must be larger than the step before it \(50\), got 10/,
    ],
    ['gates: { canary: { steps: [10, 10] } }', /gates\.canary\.steps\[1\]: must be larger than the step before it/],
    ['gates: { canary: { steps: [10.125] } }', /gates\.canary\.steps\[0\]: may have at most two decimals/],
    [
      'gates: { canary: { steps: [10], stepDuration: 500ms } }',
      /gates\.canary\.stepDuration: must be at least 1s.*500ms/,
    ],
    ['gates: { canary: { steps: [10], stepDuration: later } }', /gates\.canary\.stepDuration: must be a duration/],
    ['gates: { canary: { steps: [10], weights: [1] } }', /gates\.canary\.weights: unknown key/],
  ] as const) {
    it(`refuses ${yaml}, naming the key and the value`, () => {
      expect(() => parseConfig(`${minimal}${yaml}\n`, '/')).to.throw(ValidationError, message);
    });
  }

  it('is in the example config: 10%, then 50%, a minute each', () => {
    const config = loadConfig(new URL('../../config/hypervisor.example.yaml', import.meta.url).pathname);
    expect(config.gates.canary).to.deep.equal({ steps: [10, 50], stepDurationMs: 60_000 });
  });
});
