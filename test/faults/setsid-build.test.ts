// Fault: a BUILD that starts a child outside its process group (setsid). With either units driver
// the child ends with the step: the process driver's steps are swept by the mark in their
// environment, the systemd driver's run in a transient scope whose cgroup is stopped whole. Real
// processes, a real `systemd --user`, a real git repo of the example backend.
import { expect } from 'chai';
import { randomInt } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { environSweep, type Containment } from '../../common/containment.js';
import type { ReleasePipeline } from '../../reconciler/pipeline.js';
import { StepScopes } from '../../units/step-scope.js';
import type { ExampleRepo } from '../../harness/example-repo.js';
import { startPipelineHost, type PipelineHost } from '../harness/pipeline-host.js';
import { processesMatching } from '../harness/processes.js';
import { sharedUserManager, type SharedUserManager } from '../harness/systemd-user.js';

/** A sleep whose command line no other process on the host shares. */
function needle(): string {
  return `sleep 1000.${randomInt(100_000, 999_999)}`;
}

/** Prints the scope the script runs in (or "no scope"), so a test can tell which containment held it. */
const SHOW_SCOPE = "grep -o 'hypervisor-step-[0-9a-f]*\\.scope' /proc/self/cgroup | head -n 1 || true\necho in-cgroup";

interface Driver {
  name: 'process' | 'systemd';
  containment(): Containment;
  /** What the log shows about where the script ran. */
  where: RegExp;
}

describe('fault: a BUILD that forks past its process group (setsid)', function () {
  this.timeout(90_000);
  let manager: SharedUserManager;
  let host: PipelineHost;
  let repo: ExampleRepo;
  let root: string;

  const drivers: Driver[] = [
    { name: 'process', containment: () => environSweep, where: /^in-cgroup$/m },
    {
      name: 'systemd',
      containment: () => new StepScopes({ env: manager.env }),
      where: /^hypervisor-step-[0-9a-f]{16}\.scope\nin-cgroup$/m,
    },
  ];

  before(async () => {
    manager = await sharedUserManager();
  });
  after(async () => {
    await manager?.release();
  });
  beforeEach(async () => {
    host = await startPipelineHost('fault-setsid-');
    ({ repo, root } = host);
  });
  afterEach(async () => {
    await host?.close();
  });

  const pipeline = (driver: Driver, buildTimeoutMs: number): ReleasePipeline =>
    host.pipeline({
      appBuild: { script: 'BUILD', timeoutMs: buildTimeoutMs },
      containment: driver.containment(),
    });

  async function buildTemps(): Promise<string[]> {
    const names = await readdir(path.join(root, 'artifacts')).catch(() => [] as string[]);
    return names.filter((name) => name.startsWith('.'));
  }

  for (const driver of drivers) {
    it(`${driver.name} driver: a BUILD that hangs past its timeout leaves no process and no temp folder`, async () => {
      const [escaped, inGroup] = [needle(), needle()];
      await repo.commitFile(
        'BUILD',
        `#!/bin/sh\n${SHOW_SCOPE}\necho "building forever"\nsetsid ${escaped} &\n${inGroup} &\nwait\n`,
        'BUILD hangs with a child in a session of its own',
      );
      const tag = await repo.release('26.11.29.0');
      const record = await pipeline(driver, 1_500).run(tag, new AbortController().signal);
      expect(record.status).to.equal('failed');
      expect(record.build).to.include({ timedOut: true, exitCode: null, signal: 'SIGTERM' });
      expect(await processesMatching(escaped), 'the setsid child').to.deep.equal([]);
      expect(await processesMatching(inGroup), 'the child in the group').to.deep.equal([]);
      expect(await buildTemps()).to.deep.equal([]);
      const log = await readFile(record.build!.logPath, 'utf8');
      expect(log).to.match(driver.where);
      expect(log).to.match(/timeout of 1500 ms reached[\s\S]*left the process group were still running: stopped/);
    });

    it(`${driver.name} driver: a BUILD that succeeds leaves no child it started by setsid`, async () => {
      const escaped = needle();
      const original = await readFile(path.join(repo.path, 'BUILD'), 'utf8');
      const spawnCall = `require('node:child_process').spawn('setsid', '${escaped}'.split(' '), { stdio: 'ignore' })`;
      const spawnEscaped = `${spawnCall}.unref();`;
      await repo.commitFile(
        'BUILD',
        original.replace("'use strict';", `'use strict';\n${spawnEscaped}`),
        'BUILD leaves a daemon behind',
      );
      const tag = await repo.release('26.11.29.1');
      const record = await pipeline(driver, 30_000).run(tag, new AbortController().signal);
      expect(record.status).to.equal('succeeded');
      expect(await processesMatching(escaped)).to.deep.equal([]);
      expect(await buildTemps()).to.deep.equal([]);
      expect(await readFile(record.build!.logPath, 'utf8')).to.match(/left the process group were still running/);
    });
  }
});
