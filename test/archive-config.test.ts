// `archive.s3` in the config: its defaults (path-style with an endpoint, none without), key files
// resolved against the config's folder, and a bad value refused with its key named.
import { expect } from 'chai';
import { ValidationError } from '../common/errors.js';
import { parseConfig } from '../config/config.js';

const minimal = `
app:
  name: demo
  repo: ./backend
root: ./var
`;

function refusal(archive: string): ValidationError {
  try {
    parseConfig(`${minimal}archive: ${archive}\n`, '/etc/openhack');
  } catch (err) {
    expect(err).to.be.instanceOf(ValidationError);
    return err as ValidationError;
  }
  throw new Error(`archive: ${archive} was accepted`);
}

describe('config: archive.s3', () => {
  it('is off unless configured', () => {
    expect(parseConfig(minimal, '/etc/openhack').archive).to.equal(null);
  });

  it('reads an S3-compatible store: path-style by default, key files resolved against the config folder', () => {
    const { archive } = parseConfig(
      `${minimal}archive:
  s3: { endpoint: 'https://minio.example.org:9000/', region: eu-central-1, bucket: hv-logs, prefix: openhack/prod,
        accessKeyIdFile: keys/id, secretAccessKeyFile: /etc/openhack/s3-secret }
`,
      '/etc/openhack',
    );
    expect(archive).to.deep.equal({
      s3: {
        endpoint: 'https://minio.example.org:9000',
        region: 'eu-central-1',
        bucket: 'hv-logs',
        prefix: 'openhack/prod',
        forcePathStyle: true,
        accessKeyIdFile: '/etc/openhack/keys/id',
        secretAccessKeyFile: '/etc/openhack/s3-secret',
      },
    });
  });

  it('reads AWS S3 itself: no endpoint, virtual-hosted style, no prefix, the default credential chain', () => {
    const { archive } = parseConfig(`${minimal}archive: { s3: { region: us-east-1, bucket: my.logs } }\n`, '/etc');
    expect(archive!.s3).to.deep.equal({
      endpoint: null,
      region: 'us-east-1',
      bucket: 'my.logs',
      prefix: '',
      forcePathStyle: false,
      accessKeyIdFile: null,
      secretAccessKeyFile: null,
    });
  });

  it('refuses bad values, naming the key and the value', () => {
    const cases: Array<[string, string, RegExp]> = [
      ['{ s3: { bucket: hvl } }', 'archive.s3.region', /non-empty string/],
      ['{ s3: { region: x, bucket: Hv_Logs } }', 'archive.s3.bucket', /Hv_Logs/],
      ['{ s3: { region: x, bucket: hvl, prefix: /logs/ } }', 'archive.s3.prefix', /"\/logs\/"/],
      ['{ s3: { region: x, bucket: hvl, prefix: a/../b } }', 'archive.s3.prefix', /a\/\.\.\/b/],
      ["{ s3: { region: x, bucket: hvl, endpoint: 'ftp://s3' } }", 'archive.s3.endpoint', /http\(s\) URL/],
      ["{ s3: { region: x, bucket: hvl, endpoint: 'https://k:s@s3' } }", 'archive.s3.endpoint', /credentials/],
      ['{ s3: { region: x, bucket: hvl, accessKeyIdFile: /k } }', 'archive.s3.secretAccessKeyFile', /both/],
      ['{ s3: { region: x, bucket: hvl, forcePathStyle: yes } }', 'archive.s3.forcePathStyle', /true or false/],
      ['{ s3: { region: x, bucket: hvl, checksums: off } }', 'archive.s3.checksums', /unknown key/],
      ['{ gcs: {} }', 'archive.gcs', /unknown key/],
    ];
    for (const [archive, key, message] of cases) {
      const err = refusal(archive);
      expect(err.path, archive).to.equal(key);
      expect(err.message, archive).to.match(message);
    }
  });
});
