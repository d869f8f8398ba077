// The pure rules every desired-state source obeys: a hand edit is the change from what the edited
// copy held (field by field), and no change stops traffic unless it says so.
import { expect } from 'chai';
import { ValidationError, WouldStopTrafficError } from '../common/errors.js';
import { type DesiredDoc } from '../common/types.js';
import { changedFields, checkOutage, mergeEdit, readDesired } from '../desired-state/document.js';
import { baseRevision, renderDesiredFile } from '../desired-state/file-text.js';
import { parseDesiredInput, parseDesiredYaml } from '../desired-state/yaml.js';

const PATTERN = /^v\d{2}\.\d{2}\.\d{2}\.\d+$/;
const V1 = 'v26.11.27.1';
const V2 = 'v26.11.27.2';
const V3 = 'v26.11.27.3';

function doc(blue: string | null, green: string | null, active: DesiredDoc['active'], paused = false): DesiredDoc {
  return { active, colors: { blue: { tag: blue }, green: { tag: green } }, paused };
}

function refusal(run: () => void): WouldStopTrafficError {
  try {
    run();
  } catch (err) {
    if (err instanceof WouldStopTrafficError) return err;
    throw err;
  }
  throw new Error('expected WouldStopTrafficError');
}

describe('desired-state edit rules', () => {
  describe('mergeEdit: a hand edit applies as the change from its base', () => {
    const base = doc(V1, null, 'blue');
    // Since the file was last written, the API staged V2 on green.
    const latest = doc(V1, V2, 'blue');

    it('an edit that only sets paused keeps every tag and the active color of the latest revision', () => {
      expect(mergeEdit(base, { ...base, paused: true }, latest)).to.deep.equal(doc(V1, V2, 'blue', true));
    });

    it('each field the edit changed takes the edited value; the others keep their current value', () => {
      const edited = doc(V3, null, 'blue');
      expect(mergeEdit(base, edited, latest)).to.deep.equal(doc(V3, V2, 'blue'));
      const switched = doc(V1, null, null);
      expect(mergeEdit(base, switched, latest)).to.deep.equal(doc(V1, V2, null));
    });

    it('the edit wins over a change made since on the same field', () => {
      const edited = doc(V1, V3, 'blue');
      expect(mergeEdit(base, edited, latest)).to.deep.equal(doc(V1, V3, 'blue'));
    });

    it('an untouched copy of an older revision changes nothing', () => {
      expect(mergeEdit(base, structuredClone(base), latest)).to.deep.equal(latest);
    });

    it('returns a fresh document: changing it leaves the inputs alone', () => {
      const merged = mergeEdit(base, base, latest);
      merged.colors.green.tag = V3;
      expect(latest.colors.green.tag).to.equal(V2);
    });
  });

  describe('checkOutage: no self-inflicted outage by accident', () => {
    const serving = doc(V1, V2, 'blue');

    it('refuses active: null while a color serves, naming the color, its tag and the confirmation', () => {
      const err = refusal(() => checkOutage(serving, doc(V1, V2, null), {}));
      expect(err.code).to.equal('would_stop_traffic');
      expect(err.message).to.contain(`blue serves ${V1}`);
      expect(err.message).to.contain('allowOutage: true');
    });

    it("refuses removing the active color's tag (which leaves it nothing to serve)", () => {
      refusal(() => checkOutage(serving, doc(null, V2, null), {}));
      refusal(() => checkOutage(serving, doc(null, null, null), {}));
    });

    it("names the caller's own way to confirm", () => {
      const err = refusal(() =>
        checkOutage(serving, doc(null, null, null), { confirmOutageWith: 'use ?confirm=outage' }),
      );
      expect(err.message).to.match(/to stop traffic on purpose, use \?confirm=outage$/);
    });

    it('lets a confirmed outage through', () => {
      expect(() => checkOutage(serving, doc(null, null, null), { allowOutage: true })).not.to.throw();
    });

    it('lets through every change that leaves a color serving, and any change while none serves', () => {
      for (const next of [doc(V1, V2, 'green'), doc(null, V2, 'green'), doc(V3, V2, 'blue', true)]) {
        expect(() => checkOutage(serving, next, {}), JSON.stringify(next)).not.to.throw();
      }
      expect(() => checkOutage(null, doc(null, null, null), {})).not.to.throw();
      expect(() => checkOutage(doc(V1, null, null), doc(null, null, null), {})).not.to.throw();
    });
  });

  describe('allowOutage in a document', () => {
    it('is read as the confirmation and is not part of the desired state', () => {
      const input = parseDesiredInput(`allowOutage: true\nactive: null\ncolors:\n  blue: { tag: ${V1} }\n`, PATTERN);
      expect(input).to.deep.equal({ doc: doc(V1, null, null), allowOutage: true });
      expect(parseDesiredYaml('active: null\n', PATTERN)).not.to.have.property('allowOutage');
      expect(readDesired({}, PATTERN).allowOutage).to.equal(false);
    });

    it('must be true or false', () => {
      expect(() => readDesired({ allowOutage: 'yes' }, PATTERN)).to.throw(
        ValidationError,
        /^allowOutage: must be true/,
      );
    });
  });

  describe('changedFields', () => {
    it('lists each field that differs, as an operator reads it', () => {
      expect(changedFields(doc(V1, V2, 'blue'), doc(V1, V3, null, true))).to.deep.equal([
        { field: 'green', before: V2, after: V3 },
        { field: 'active', before: 'blue', after: 'none' },
        { field: 'paused', before: 'false', after: 'true' },
      ]);
    });
  });

  describe('the desired file text', () => {
    const revision = {
      number: 12,
      doc: doc(V1, V2, 'blue'),
      source: 'api',
      author: 'ana\nactive: green',
      time: '2026-11-27T10:00:00.000Z',
    };

    it('names revision, source, author and time in a one-line header above the canonical document', () => {
      const text = renderDesiredFile(revision);
      const [header, ...rest] = text.split('\n');
      expect(header).to.equal(
        '# revision 12 from api by ana active: green at 2026-11-27T10:00:00.000Z' +
          ' -- edits to this file are applied as changes from revision 12',
      );
      expect(parseDesiredYaml(rest.join('\n'), PATTERN)).to.deep.equal(revision.doc);
      expect(parseDesiredYaml(text, PATTERN)).to.deep.equal(revision.doc);
      expect(baseRevision(text)).to.equal(12);
    });

    it('a file without the header, or with it below the first line, has no base revision', () => {
      expect(baseRevision('active: null\n')).to.equal(null);
      expect(baseRevision('# my notes\n# revision 12 from api by ana\nactive: null\n')).to.equal(null);
      expect(baseRevision('# revision twelve from api\n')).to.equal(null);
    });
  });
});
