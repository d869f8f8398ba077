// One definition of a SHA and of a tag (common/git-names.ts): the desired state and the pipeline
// accept and refuse the same tags, whatever the configured pattern lets through.
import { expect } from 'chai';
import { ValidationError } from '../common/errors.js';
import { FULL_SHA, isBuildTag, isSafeTag, statelessPattern } from '../common/git-names.js';
import { validateTag } from '../desired-state/document.js';
import { assertReleaseTag } from '../reconciler/pipeline/tag.js';

const LAX = /^.*$/s;
const TAGS = ['v26.11.27.0', 'v1', 'v1.2.3-rc_1', 'v-1', 'v.1', 'v1.', 'v1.lock', 'v1..2', 'v1/x', 'v', 'x1', 'v1 x'];

function accepts(check: () => unknown): boolean {
  try {
    check();
    return true;
  } catch (err) {
    expect(err).to.be.instanceOf(ValidationError);
    return false;
  }
}

describe('git names: one SHA, one tag rule', () => {
  it('the desired state and the pipeline accept exactly the safe tags', () => {
    for (const tag of TAGS) {
      const safe = isSafeTag(tag);
      expect(
        accepts(() => validateTag(tag, LAX, 'tag')),
        `desired state: ${tag}`,
      ).to.equal(safe);
      expect(
        accepts(() => assertReleaseTag(tag, LAX)),
        `pipeline: ${tag}`,
      ).to.equal(safe);
    }
    expect(TAGS.filter(isSafeTag)).to.deep.equal(['v26.11.27.0', 'v1', 'v1.2.3-rc_1']);
  });

  it('a full SHA is 40 lowercase hex digits, nothing shorter or longer', () => {
    expect(FULL_SHA.test('0123456789abcdef0123456789abcdef01234567')).to.equal(true);
    for (const sha of ['0123456789abcdef', `${'a'.repeat(40)}0`, 'A'.repeat(40), `--${'a'.repeat(38)}`])
      expect(FULL_SHA.test(sha), sha).to.equal(false);
  });

  it("a tag of the hypervisor's own repo is a folder name git accepts", () => {
    for (const tag of ['v0.2.0', '0.2.0', 'release-7']) expect(isBuildTag(tag), tag).to.equal(true);
    for (const tag of ['../x', 'a/b', '-x', 'v1..2', 'v1.lock', 'v1.', '.hidden'])
      expect(isBuildTag(tag), tag).to.equal(false);
  });

  it('a /g pattern answers the same every time', () => {
    const pattern = statelessPattern(/^v\d+$/g);
    expect([pattern.test('v1'), pattern.test('v1'), pattern.test('v1')]).to.deep.equal([true, true, true]);
  });
});
