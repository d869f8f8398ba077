import { expect } from 'chai';
import { ValidationError } from '../common/errors.js';
import { parseConfig } from '../config/config.js';

const minimal = `
app:
  name: demo
  repo: ./backend
root: ./var
`;

describe('config: gates.verify', () => {
  it('is off unless configured, and takes the defaults of the issue', () => {
    expect(parseConfig(minimal, '/').gates.verify).to.equal(null);
    expect(parseConfig(`${minimal}gates: { verify: {} }\n`, '/').gates.verify).to.deep.equal({
      windowMs: 120_000,
      minRequests: 50,
      maxErrorRate: 0.01,
      maxP99Seconds: 2,
      onTooFew: 'pass',
    });
    const custom =
      'gates: { verify: { window: 30s, minRequests: 5, maxErrorRate: 0.5%, maxP99: 250ms, onTooFew: hold } }';
    expect(parseConfig(`${minimal}${custom}\n`, '/').gates.verify).to.deep.equal({
      windowMs: 30_000,
      minRequests: 5,
      maxErrorRate: 0.005,
      maxP99Seconds: 0.25,
      onTooFew: 'hold',
    });
  });

  for (const [yaml, message] of [
    [
      'gates: { verify: { maxErrorRate: 1 } }',
      /gates\.verify\.maxErrorRate: must be a percentage like 1% or 0\.5%, got 1/,
    ],
    ['gates: { verify: { maxErrorRate: 101% } }', /gates\.verify\.maxErrorRate: must be a percentage/],
    ['gates: { verify: { window: 500ms } }', /gates\.verify\.window: must be at least 1s/],
    ['gates: { verify: { minRequests: 0 } }', /gates\.verify\.minRequests/],
    ['gates: { verify: { onTooFew: fail } }', /gates\.verify\.onTooFew/],
    ['gates: { verify: { maxP99: soon } }', /gates\.verify\.maxP99: must be a duration/],
    ['gates: { verify: { threshold: 1 } }', /gates\.verify\.threshold: unknown key/],
  ] as const) {
    it(`refuses ${yaml}, naming the key and the value`, () => {
      expect(() => parseConfig(`${minimal}${yaml}\n`, '/'))
        .to.throw(ValidationError)
        .with.property('message')
        .that.matches(message);
    });
  }
});
