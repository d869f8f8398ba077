import { expect } from 'chai';
import { ValidationError } from '../common/errors.js';
import { type DesiredDoc } from '../common/types.js';
import { describeChange, emptyDesired, sameDesired, validateDesired } from '../desired-state/document.js';
import { formatDesiredYaml, parseDesiredYaml } from '../desired-state/yaml.js';

const PATTERN = /^v\d{2}\.\d{2}\.\d{2}\.\d+$/;

function doc(
  blue: string | null,
  green: string | null,
  active: DesiredDoc['active'] = null,
  paused = false,
): DesiredDoc {
  return { active, colors: { blue: { tag: blue }, green: { tag: green } }, paused };
}

describe('desired-state document', () => {
  describe('valid documents', () => {
    it('reads the document from ARCHITECTURE.md', () => {
      const text = `
active: blue
colors:
  blue:  { tag: v26.11.26.0 }
  green: { tag: v26.11.27.1 }   # a color without a tag is stopped
paused: false                   # true: observe and report, change nothing
`;
      expect(parseDesiredYaml(text, PATTERN)).to.deep.equal(doc('v26.11.26.0', 'v26.11.27.1', 'blue'));
    });

    it('fills defaults: a missing color is stopped, active null, paused false', () => {
      expect(parseDesiredYaml('colors: { green: { tag: v26.01.02.3 } }\n', PATTERN)).to.deep.equal(
        doc(null, 'v26.01.02.3'),
      );
      expect(parseDesiredYaml('active: null\n', PATTERN)).to.deep.equal(emptyDesired());
      expect(parseDesiredYaml('colors:\n  blue:\n  green: {}\n', PATTERN)).to.deep.equal(emptyDesired());
      expect(parseDesiredYaml('paused: true\n', PATTERN)).to.deep.equal(doc(null, null, null, true));
    });

    it('accepts JSON, since JSON is YAML', () => {
      const json = JSON.stringify(doc('v26.11.26.0', null, 'blue', true));
      expect(parseDesiredYaml(json, PATTERN)).to.deep.equal(doc('v26.11.26.0', null, 'blue', true));
    });

    it('returns a copy that shares nothing with its input', () => {
      const input = doc('v26.11.26.0', null, 'blue');
      const out = validateDesired(input, PATTERN);
      input.colors.blue.tag = 'v99.99.99.9';
      expect(out.colors.blue.tag).to.equal('v26.11.26.0');
    });

    it('tests a /g pattern the same way every time', () => {
      const global = /^v\d+$/g;
      for (let i = 0; i < 3; i++)
        expect(validateDesired({ colors: { blue: { tag: 'v1' } } }, global).colors.blue.tag).to.equal('v1');
    });

    it('formats stably and reads its own output back', () => {
      const d = doc('v26.11.26.0', null, 'blue');
      const text = formatDesiredYaml(d);
      expect(text).to.equal(
        'active: blue\ncolors:\n  blue: { tag: v26.11.26.0 }\n  green: { tag: null }\npaused: false\n',
      );
      expect(parseDesiredYaml(text, PATTERN)).to.deep.equal(d);
      expect(formatDesiredYaml(parseDesiredYaml(text, PATTERN))).to.equal(text);
    });

    it('quotes a tag that YAML would otherwise read as another type', () => {
      const d = doc('vtrue', 'v1.5', 'green');
      expect(parseDesiredYaml(formatDesiredYaml(d), /^v.+$/)).to.deep.equal(d);
      expect(formatDesiredYaml({ ...d, colors: { blue: { tag: 'true' }, green: { tag: '1.5' } } })).to.contain(
        '"true"',
      );
    });
  });

  describe('refused documents name the key and the value', () => {
    const long = `v${'1'.repeat(299)}`;
    const bad: Array<[string, string, RegExp, string]> = [
      [
        'an unknown color',
        'colors: { purple: { tag: v26.01.01.0 } }',
        /^colors\.purple: unknown color "purple"$/,
        'colors.purple',
      ],
      [
        'a tag with a shell metacharacter',
        'colors: { green: { tag: "v1;x" } }',
        /^colors\.green\.tag: "v1;x" does not match \^v\\d\{2\}/,
        'colors.green.tag',
      ],
      [
        'a tag starting with a dash',
        'colors: { blue: { tag: "-v1" } }',
        /^colors\.blue\.tag: "-v1" does not match/,
        'colors.blue.tag',
      ],
      [
        'a tag with a variable',
        'colors: { blue: { tag: "v1$HOME" } }',
        /^colors\.blue\.tag: "v1\$HOME" does not match/,
        'colors.blue.tag',
      ],
      [
        'a path as a tag',
        'colors: { blue: { tag: "../etc" } }',
        /^colors\.blue\.tag: "\.\.\/etc" does not match/,
        'colors.blue.tag',
      ],
      [
        'a 300-byte tag',
        `colors: { blue: { tag: ${long} } }`,
        /^colors\.blue\.tag: "v1{20,}\.\.\. does not match/,
        'colors.blue.tag',
      ],
      [
        'a numeric tag',
        'colors: { blue: { tag: 26.11 } }',
        /^colors\.blue\.tag: must be a tag string or null, got 26\.11$/,
        'colors.blue.tag',
      ],
      [
        'an active color without a tag',
        'active: blue\ncolors: { green: { tag: v26.01.01.0 } }',
        /^active: blue has no tag; a color must have a tag to be active$/,
        'active',
      ],
      ['an unknown active color', 'active: purple', /^active: must be blue, green or null, got "purple"$/, 'active'],
      ['an unknown top-level key', 'actve: blue', /^actve: unknown key \(value "blue"\)$/, 'actve'],
      [
        'an unknown nested key',
        'colors: { blue: { tag: v26.01.01.0, port: 1 } }',
        /^colors\.blue\.port: unknown key \(value 1\)$/,
        'colors.blue.port',
      ],
      ['paused as a string', 'paused: "yes"', /^paused: must be true or false, got "yes"$/, 'paused'],
      ['paused as a number', 'paused: 1', /^paused: must be true or false, got 1$/, 'paused'],
      [
        'colors as a list',
        'colors: [blue, green]',
        /^colors: value must be a mapping, got \["blue","green"\]$/,
        'colors',
      ],
      [
        'a color as a string',
        'colors: { blue: v26.01.01.0 }',
        /^colors\.blue: value must be a mapping, got "v26\.01\.01\.0"$/,
        'colors.blue',
      ],
      ['a list document', '- blue', /^desired state must be a mapping, got \["blue"\]$/, ''],
      ['an empty document', '', /^desired state is empty/, ''],
      [
        'a YAML syntax error',
        'active: blue\ncolors: [\n',
        /^desired state is not valid YAML: .* at line 3, column 1$/,
        '',
      ],
      [
        'a duplicate top-level key',
        'active: blue\nactive: green\n',
        /^active: duplicate key at line 2, column 1/,
        'active',
      ],
      [
        'a duplicate nested key',
        'colors:\n  blue: { tag: v26.01.01.0 }\n  blue: { tag: v26.01.01.1 }\n',
        /^colors\.blue: duplicate key at line 3, column 3/,
        'colors.blue',
      ],
      ['two documents', 'active: null\n---\nactive: null\n', /not valid YAML: Source contains multiple documents/, ''],
      ['an unknown YAML tag', 'active: !!color blue\n', /not valid YAML: Unresolved tag/, ''],
      ['an alias to nothing', 'active: *x\n', /not valid YAML: Unresolved alias/, ''],
    ];
    for (const [name, text, message, path] of bad) {
      it(`refuses ${name}`, () => {
        let error: unknown;
        try {
          parseDesiredYaml(text, PATTERN);
        } catch (err) {
          error = err;
        }
        expect(error).to.be.instanceOf(ValidationError);
        expect((error as ValidationError).message).to.match(message);
        expect((error as ValidationError).path).to.equal(path);
      });
    }

    it('refuses an unsafe tag even when the configured pattern would let it through', () => {
      const lax = /^.*$/;
      for (const tag of ['v1;x', 'v1$HOME', 'v..', 'v1/2', `v${'a'.repeat(101)}`, 'v', 'x1']) {
        expect(() => validateDesired({ colors: { blue: { tag } } }, lax), tag).to.throw(
          ValidationError,
          /^colors\.blue\.tag: ".+ is not a safe tag/,
        );
      }
      expect(validateDesired({ colors: { blue: { tag: `v${'a'.repeat(100)}` } } }, lax).colors.blue.tag).to.have.length(
        101,
      );
    });

    it('refuses values that are not documents at all', () => {
      for (const value of [null, undefined, 'active: blue', 42, true]) {
        expect(() => validateDesired(value, PATTERN)).to.throw(
          ValidationError,
          /^desired state (is empty|must be a mapping)/,
        );
      }
    });
  });

  describe('comparing', () => {
    it('sameDesired compares every field', () => {
      const base = doc('v26.01.01.0', 'v26.01.02.0', 'blue');
      expect(sameDesired(base, structuredClone(base))).to.equal(true);
      expect(sameDesired(base, { ...base, active: 'green' })).to.equal(false);
      expect(sameDesired(base, { ...base, paused: true })).to.equal(false);
      expect(sameDesired(base, doc('v26.01.01.0', null, 'blue'))).to.equal(false);
    });

    it('describeChange says what moved, one line each', () => {
      const before = doc('v26.01.01.0', 'v26.01.02.0', 'blue');
      const after = doc('v26.01.01.0', 'v26.01.03.0', 'green', true);
      expect(describeChange(before, after)).to.deep.equal([
        'green: v26.01.02.0 -> v26.01.03.0',
        'active: blue -> green',
        'paused: false -> true',
      ]);
      expect(describeChange(emptyDesired(), doc('v26.01.01.0', null, 'blue'))).to.deep.equal([
        'blue: none -> v26.01.01.0',
        'active: none -> blue',
      ]);
      expect(describeChange(before, before)).to.deep.equal([]);
    });
  });
});
