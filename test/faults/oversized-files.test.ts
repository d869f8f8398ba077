// Fault: files too large to read. A 50 MB desired file is refused from its size (fstat) with the
// size and the cap, the daemon keeps serving, and a good file written after it is applied. A config
// file over its cap stops the daemon at start with one line naming the file, its size and the cap.
import { expect } from 'chai';
import { open, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FILE_CAPS } from '../../common/limits.js';
import type { StatusAnswer } from '../../api/wire.js';
import { waitFor } from '../harness/wait.js';
import { newFaultHost, STACK_LINE, startFaultHost, type FaultHost } from './fault-host.js';

const FIFTY_MB = 50 * 1024 * 1024;

/** A file of `size` bytes that takes no disk space (a hole): fstat reports the size all the same. */
async function sparseFile(file: string, size: number): Promise<void> {
  const handle = await open(file, 'w', 0o644);
  try {
    await handle.truncate(size);
  } finally {
    await handle.close();
  }
}

describe('faults: oversized files (real daemon process)', function () {
  this.timeout(60_000);

  describe('a 50 MB desired file', () => {
    let hv: FaultHost;
    let file: string;

    before(async () => {
      hv = await startFaultHost('oversized', {
        extraConfig: 'desired: { file: {dir}/desired.yaml }',
        prepare: async (dir) => {
          file = path.join(dir, 'desired.yaml');
          await sparseFile(file, FIFTY_MB);
        },
      });
    });
    after(async () => {
      await hv?.close();
    });

    const sourceCondition = async (): Promise<{ status: string; message: string } | undefined> => {
      const answer = await hv.admin<StatusAnswer>('GET', '/status');
      return answer.json.status.conditions.find((c) => c.type === 'DesiredSourceValid');
    };

    it('is refused with its size and the cap, and the daemon keeps serving', async () => {
      const condition = await waitFor('the desired file refused', async () => {
        const c = await sourceCondition();
        return c?.status === 'False' ? c : null;
      });
      expect(condition.message).to.include(file);
      expect(condition.message).to.include(`is ${FIFTY_MB} bytes (50 MiB)`);
      expect(condition.message).to.include(`over the cap of ${FILE_CAPS.desired} bytes (64 KiB)`);
      expect((await hv.admin<{ revisions: unknown[] }>('GET', '/desired/history')).json.revisions).to.deep.equal([]);
      expect(await hv.alive()).to.equal(true);
      expect(hv.output()).not.to.match(STACK_LINE);
    });

    it('applies a good file written in its place', async () => {
      const temp = `${file}.tmp`;
      await writeFile(temp, 'active: null\ncolors: {}\npaused: true\n');
      await rename(temp, file);
      const revisions = await waitFor('the file applied', async () => {
        const answer = await hv.admin<{ revisions: Array<{ source: string; doc: { paused: boolean } }> }>(
          'GET',
          '/desired/history',
        );
        return answer.json.revisions.length > 0 ? answer.json.revisions : null;
      });
      expect(revisions[0]).to.deep.include({ source: 'file' });
      expect(revisions[0]!.doc.paused).to.equal(true);
      expect((await sourceCondition())?.status).to.equal('True');
    });
  });

  it('a config file over its cap stops the daemon at start with one line and no stack', async () => {
    const host = await newFaultHost('big-config');
    try {
      await writeFile(host.configPath, `# padding\n${'#'.repeat(FILE_CAPS.config)}\n`);
      const failed = await host.startRefused();
      expect(failed.code).to.equal(2);
      const lines = failed.stderr.trim().split('\n');
      expect(lines).to.have.length(1);
      expect(lines[0]).to.include(host.configPath);
      expect(lines[0]).to.match(/is \d+ bytes \(1\.0 MiB\), over the cap of 1048576 bytes \(1 MiB\)/);
      expect(failed.stderr).not.to.match(STACK_LINE);
    } finally {
      await host.close();
    }
  });
});
