// common/deadline.ts against a real peer that never answers, with the garbage collector running
// between the start of a fetch and its deadline: the case where AbortSignal.any with
// AbortSignal.timeout lost its timeout on Node 20 and a notification try waited for the peer.
import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startDeadline, withDeadline } from '../common/deadline.js';

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

describe('deadline: a bound on one piece of work that the garbage collector cannot lose', function () {
  this.timeout(10_000);
  let server: Server;
  let url: string;

  before(async () => {
    server = createServer(() => undefined); // takes the request and never answers
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('aborts a fetch to a silent peer at the deadline while collections run, with a TimeoutError', async () => {
    const parent = new AbortController();
    const collector = setInterval(collectGarbage, 10);
    const started = Date.now();
    try {
      const outcome = await withDeadline(300, parent.signal, (signal) =>
        fetch(url, { signal }).then(
          () => 'answered',
          (err: unknown) => (err as Error).name,
        ),
      );
      expect(outcome).to.equal('TimeoutError');
    } finally {
      clearInterval(collector);
    }
    expect(Date.now() - started).to.be.at.least(250);
  });

  it("follows the parent: its abort ends the work at once, with the parent's reason", async () => {
    const parent = new AbortController();
    const deadline = startDeadline(60_000, parent.signal);
    const pending = fetch(url, { signal: deadline.signal }).then(
      () => null,
      (err: unknown) => err,
    );
    parent.abort(new Error('the hypervisor is stopping'));
    expect(await pending).to.have.property('message', 'the hypervisor is stopping');
    expect(deadline.signal.reason).to.have.property('message', 'the hypervisor is stopping');
  });

  it('starts aborted under a parent that already is, and a disposed deadline no longer follows it', () => {
    const gone = new AbortController();
    gone.abort(new Error('client left'));
    expect(startDeadline(60_000, gone.signal).signal.aborted).to.equal(true);

    const parent = new AbortController();
    const deadline = startDeadline(60_000, parent.signal);
    deadline.dispose();
    parent.abort(new Error('late'));
    expect(deadline.signal.aborted, 'disposed: the work had ended').to.equal(false);
  });
});
