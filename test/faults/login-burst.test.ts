// Fault: a burst of logins beyond what the password hasher queues. The overflow is told `503 busy`
// with Retry-After -- an answer the code chose, so the daemon's log stays free of stack traces --
// and the daemon keeps serving meanwhile. Each login is a different name, so no lockout mixes in.
// The test does not wait for the ~66 queued hashes: it stops the daemon once the overflow is told.
import { expect } from 'chai';
import type { Answer } from '../api-harness.js';
import { waitUntil } from '../harness/wait.js';
import { STACK_LINE, startFaultHost, type FaultHost } from './fault-host.js';

type ErrorBody = { error: { code: string; message: string } };
/** The hasher runs 2 and queues 64 (api/auth/password.ts): 100 at once overflow it. */
const BURST = 100;
const ENOUGH_BUSY = 10;

describe('faults: a burst of logins gets 503 busy without a stack in the log (real daemon process)', function () {
  this.timeout(120_000);
  let hv: FaultHost | null = null;

  before(async () => {
    hv = await startFaultHost('burst');
  });
  after(async () => {
    await hv?.close();
  });

  it('answers the overflow 503 with Retry-After, stays up, and logs no stack', async () => {
    const daemon = hv!;
    const answers: Array<Answer<ErrorBody>> = [];
    const requests = Array.from({ length: BURST }, (_, i) =>
      daemon
        .call<ErrorBody>('POST', '/auth/login', {
          body: { username: `burst-${i}`, password: 'not the password' },
          timeoutMs: 100_000,
        })
        // The queued ones fail when the daemon stops at the end: that is all they may do then.
        .then(
          (answer) => void answers.push(answer),
          () => undefined,
        ),
    );
    const busy = (): Array<Answer<ErrorBody>> => answers.filter((a) => a.status === 503);
    await waitUntil(
      async () => busy().length,
      (n) => n >= ENOUGH_BUSY,
      { what: `${ENOUGH_BUSY} logins told busy`, timeoutMs: 60_000 },
    );
    for (const answer of busy()) {
      expect(answer.json.error.code).to.equal('busy');
      expect(answer.headers['retry-after']).to.equal('1');
    }
    expect(answers.every((a) => a.status === 503 || a.status === 401)).to.equal(true);
    expect(await daemon.alive(), 'healthz while the hasher is full').to.equal(true);
    const log = daemon.output();
    expect(log, log).not.to.match(STACK_LINE);
    expect(log).not.to.include('HasherBusyError');
    expect(log).not.to.include('hypervisor api error');
    hv = null;
    await daemon.close();
    await Promise.allSettled(requests);
  });
});
