// The bounds on parsing and reading (common/limits.ts, nesting.ts, describe.ts, capped-read.ts):
// depth is checked on the text with loops, describeValue is safe on any value, and a file over its
// cap is refused from its size before it is read.
import { expect } from 'chai';
import { open, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { readCappedFile, readCappedFileSync, readCappedText } from '../common/capped-read.js';
import { describeValue } from '../common/describe.js';
import { FileTooLargeError, MAX_NESTING, TooDeepError } from '../common/limits.js';
import { checkJsonNesting, checkYamlNesting } from '../common/nesting.js';
import { parseDesiredYaml } from '../desired-state/yaml.js';
import { scratchDir } from '../harness/daemon-process.js';

const nested = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;

describe('limits: nesting depth, describeValue, capped reads', () => {
  describe('checkJsonNesting', () => {
    it('lets exactly MAX_NESTING levels through and refuses one more, naming the limit', () => {
      expect(() => checkJsonNesting(nested(MAX_NESTING), 'request body')).not.to.throw();
      expect(() => checkJsonNesting(nested(MAX_NESTING + 1), 'request body'))
        .to.throw(TooDeepError, `request body nests deeper than ${MAX_NESTING} levels`)
        .with.property('code', 'too_deep');
    });

    it('counts objects and arrays alike and ignores brackets inside strings, escaped quotes included', () => {
      const deepObject = `${'{"a":'.repeat(MAX_NESTING + 1)}1${'}'.repeat(MAX_NESTING + 1)}`;
      expect(() => checkJsonNesting(deepObject, 'x')).to.throw(TooDeepError);
      const inString = JSON.stringify({ text: `\\"${'['.repeat(1000)}` });
      expect(() => checkJsonNesting(inString, 'x')).not.to.throw();
    });

    it('scans 30,000 levels without recursion, and stray closers buy no depth', () => {
      expect(() => checkJsonNesting('['.repeat(30_000), 'x')).to.throw(TooDeepError);
      expect(() => checkJsonNesting(`${']'.repeat(100)}${'['.repeat(MAX_NESTING + 1)}`, 'x')).to.throw(TooDeepError);
    });
  });

  describe('checkYamlNesting and the desired-state parser', () => {
    const tag = /^v\d{2}\.\d{2}\.\d{2}\.\d+$/;

    it('refuses flow, block-sequence and block-mapping nesting past the limit, at any depth', () => {
      const cases = {
        flow: `active: ${nested(30_000)}\n`,
        sequence: `colors:\n  blue:\n    ${'- '.repeat(30_000)}x\n`,
        mapping: Array.from({ length: 300 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n'),
      };
      for (const [name, text] of Object.entries(cases)) {
        expect(() => parseDesiredYaml(text, tag), name).to.throw(
          TooDeepError,
          `desired state nests deeper than ${MAX_NESTING} levels`,
        );
      }
    });

    it('lets a document within the limit through to validation', () => {
      expect(() => checkYamlNesting(`a: ${nested(MAX_NESTING - 1)}\n`, 'x')).not.to.throw();
      expect(() => checkYamlNesting(`a: ${nested(MAX_NESTING)}\n`, 'x')).to.throw(TooDeepError);
      const doc = parseDesiredYaml('active: blue\ncolors:\n  blue: { tag: v26.11.27.0 }\n', tag);
      expect(doc.colors.blue.tag).to.equal('v26.11.27.0');
    });
  });

  describe('describeValue', () => {
    it('reads like JSON.stringify for ordinary values, cut at 80 characters', () => {
      for (const value of [
        'v1',
        42,
        true,
        null,
        ['a', 1],
        { a: { b: [1, 2] } },
        'x'.repeat(200),
        { k: 'y'.repeat(100) },
      ]) {
        const text = JSON.stringify(value);
        expect(describeValue(value)).to.equal(text.length > 80 ? `${text.slice(0, 77)}...` : text);
      }
      expect(describeValue(undefined)).to.equal('undefined');
    });

    it('is safe on values JSON.stringify cannot take: deep, circular, bigint', () => {
      let deep: unknown[] = [];
      for (let i = 0; i < 100_000; i++) deep = [deep];
      expect(describeValue(deep)).to.equal(`${'['.repeat(77)}...`);
      const circular: Record<string, unknown> = { name: 'loop' };
      circular.self = circular;
      expect(describeValue(circular)).to.match(/^\{"name":"loop","self":\{"name":"loop",/);
      expect(describeValue(10n)).to.equal('10');
    });
  });

  describe('capped reads', () => {
    let scratch: { dir: string; remove(): Promise<void> };
    before(async () => {
      scratch = await scratchDir('hv-limits-');
    });
    after(async () => {
      await scratch?.remove();
    });

    it('reads a file within its cap', async () => {
      const file = path.join(scratch.dir, 'small');
      await writeFile(file, 'hello\n');
      expect(await readCappedText(file, 6, 'small file')).to.equal('hello\n');
      expect(readCappedFileSync(file, 6, 'small file').toString()).to.equal('hello\n');
    });

    it('refuses a 50 MB file from its size, naming the file, the size and the cap', async () => {
      const file = path.join(scratch.dir, 'big');
      const handle = await open(file, 'w');
      await handle.truncate(50 * 1024 * 1024);
      await handle.close();
      const message = `desired file ${file} is 52428800 bytes (50 MiB), over the cap of 65536 bytes (64 KiB)`;
      const refused = await readCappedFile(file, 64 * 1024, 'desired file').catch((err: unknown) => err);
      expect(refused).to.be.instanceOf(FileTooLargeError).with.property('message', message);
      expect(() => readCappedFileSync(file, 64 * 1024, 'desired file')).to.throw(FileTooLargeError, message);
    });

    it('stops at the cap when the size says nothing (a device that never ends)', async () => {
      const refused = await readCappedFile('/dev/zero', 1024, 'secret').catch((err: unknown) => err);
      expect(refused).to.be.instanceOf(FileTooLargeError);
      expect((refused as Error).message).to.equal(
        'secret /dev/zero is more than 1024 bytes, over the cap of 1024 bytes (1 KiB)',
      );
      expect(() => readCappedFileSync('/dev/zero', 1024, 'secret')).to.throw(FileTooLargeError, 'more than 1024 bytes');
    });
  });
});
