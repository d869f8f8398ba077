import { expect } from 'chai';
import { ValidationError } from '../common/errors.js';
import { type UnitSpec } from '../units/driver.js';
import { parseInstalledSpec, renderUnit, SPEC_MARKER, unitName } from '../units/unit-file.js';
import { sampleSpec } from './harness/records.js';

const spec: UnitSpec = sampleSpec('blue', { executable: '/var/openhack/artifacts/v26.11.27.0/26.11.27.0' });

const lines = (text: string): string[] => text.split('\n');
const setting = (text: string, key: string): string[] =>
  lines(text)
    .filter((l) => l.startsWith(`${key}=`))
    .map((l) => l.slice(key.length + 1));

describe('unit file', () => {
  it('names units <app>-<color>.service and refuses app names that are not file names', () => {
    expect(unitName('openhack-backend', 'green')).to.equal('openhack-backend-green.service');
    expect(() => unitName('../evil', 'blue')).to.throw(ValidationError, /app\.name.*\.\.\/evil/);
  });

  it('renders the backend contract command line, supervision and logging', () => {
    const text = renderUnit(spec, 'openhack-backend');
    expect(setting(text, 'ExecStart')).to.deep.equal([
      '"/var/openhack/artifacts/v26.11.27.0/26.11.27.0" "--deployment" "prod" "--port" "8001" ' +
        '"--env-root" "/var/openhack/env" "--app-version" "26.11.27.0"',
    ]);
    expect(setting(text, 'WorkingDirectory')).to.deep.equal(['/var/openhack/artifacts/v26.11.27.0']);
    expect(setting(text, 'Restart')).to.deep.equal(['on-failure']);
    expect(setting(text, 'RestartSec')).to.deep.equal(['1']);
    expect(setting(text, 'KillMode')).to.deep.equal(['control-group']);
    expect(setting(text, 'StartLimitBurst')).to.deep.equal(['5']);
    expect(setting(text, 'StartLimitIntervalSec')).to.deep.equal(['60']);
    expect(setting(text, 'StandardOutput')).to.deep.equal(['append:/var/openhack/logs/blue.log']);
    expect(setting(text, 'StandardError')).to.deep.equal(['append:/var/openhack/logs/blue.log']);
    expect(setting(text, 'WantedBy')).to.deep.equal(['default.target']);
    expect(setting(text, 'Description')[0]).to.equal('openhack-backend blue slot (v26.11.27.0)');
    expect(lines(text)[0]!.startsWith(SPEC_MARKER)).to.equal(true);
  });

  it('escapes systemd specifiers, variables, quotes and backslashes', () => {
    const odd: UnitSpec = {
      ...spec,
      executable: '/srv/a b/100%/$HOME/26.11.27.0',
      deployment: 'pr"od',
      envRoot: '/srv/env $PATH 50% \\x',
      logFile: '/srv/logs 100%/blue.log',
    };
    const text = renderUnit(odd, 'app');
    const exec = setting(text, 'ExecStart')[0]!;
    // The executable word gets no $ expansion from systemd, so only % is doubled there.
    expect(exec.startsWith('"/srv/a b/100%%/$HOME/26.11.27.0" ')).to.equal(true);
    expect(exec).to.include('"pr\\"od"');
    expect(exec).to.include('"/srv/env $$PATH 50%% \\\\x"');
    expect(setting(text, 'WorkingDirectory')).to.deep.equal(['/srv/a b/100%%/$HOME']);
    expect(setting(text, 'StandardOutput')).to.deep.equal(['append:/srv/logs 100%%/blue.log']);
    expect(parseInstalledSpec(text)).to.deep.equal(odd);
  });

  it('reads back the spec it was rendered from, whatever the key order of the input', () => {
    const { logFile, ...rest } = spec;
    const shuffled = { logFile, ...rest };
    expect(parseInstalledSpec(renderUnit(shuffled, 'app'))).to.deep.equal(spec);
  });

  it('reads no spec from a hand-written unit, a broken comment or an invalid spec', () => {
    expect(parseInstalledSpec('[Service]\nExecStart=/bin/true\n')).to.equal(null);
    expect(parseInstalledSpec(`${SPEC_MARKER}{not json\n[Service]\n`)).to.equal(null);
    expect(parseInstalledSpec(`${SPEC_MARKER}${JSON.stringify({ ...spec, port: 'x' })}\n`)).to.equal(null);
    expect(parseInstalledSpec(`${SPEC_MARKER}${JSON.stringify({ ...spec, color: 'red' })}\n`)).to.equal(null);
  });

  const refused: Array<[string, Partial<UnitSpec>, RegExp]> = [
    [
      'a newline in the log file',
      { logFile: '/var/log/a\nExecStartPre=/bin/sh' },
      /spec\.logFile: must not contain newlines/,
    ],
    ['a carriage return in the tag', { tag: 'v1\r' }, /spec\.tag: must not contain newlines/],
    ['a NUL in the env root', { envRoot: '/var/env\0' }, /spec\.envRoot/],
    ['a relative executable', { executable: 'bin/backend' }, /spec\.executable: must be an absolute path/],
    ['a quote in the executable', { executable: "/srv/it's/backend" }, /spec\.executable: must not contain quotes/],
    ['a trailing backslash (line continuation)', { logFile: '/var/log/x\\' }, /spec\.logFile: must not end/],
    ['trailing whitespace', { envRoot: '/var/env ' }, /spec\.envRoot: must not end/],
    ['an empty deployment', { deployment: '' }, /spec\.deployment: must be a non-empty string/],
    ['port 0', { port: 0 }, /spec\.port: must be an integer 1-65535, got 0/],
    ['a color that is not a slot', { color: 'red' as never }, /spec\.color/],
  ];
  for (const [name, change, message] of refused) {
    it(`refuses ${name}`, () => {
      expect(() => renderUnit({ ...spec, ...change }, 'app')).to.throw(ValidationError, message);
    });
  }
});
