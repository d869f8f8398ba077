// The follow streams as server-sent events, as the dashboard's EventSource reads them: the event
// trail (resumed after Last-Event-ID) and the status (each change). Real daemon, real sockets.
import { expect } from 'chai';
import { startTestDaemon, type TestDaemon } from './api-harness.js';
import { openSse, type SseMessage, type SseStream } from './harness/sse.js';
import { waitForCondition } from './harness/wait.js';

describe('api: follow streams as server-sent events (the dashboard)', function () {
  this.timeout(60_000);
  let hv: TestDaemon;
  let token: string;
  let operator: string;
  before(async () => {
    hv = await startTestDaemon();
    await hv.addUser('vic', 'viewer');
    await hv.addUser('opal', 'operator');
    token = await hv.login('vic');
    operator = await hv.login('opal');
  });
  after(async () => {
    await hv?.close();
  });

  const reasons = (stream: SseStream): string[] =>
    stream.messages.map((m) => (JSON.parse(m.data) as { reason: string }).reason);

  it('sends each event with its id, and a reconnect after Last-Event-ID gets only the later ones', async () => {
    const auth = { authorization: `Bearer ${token}` };
    const first = await openSse(`${hv.url}/hypervisor/events?limit=1`, auth);
    let pausedId: string;
    try {
      expect(first.status).to.equal(200);
      expect(first.contentType).to.match(/^text\/event-stream/);
      expect((await hv.call('POST', '/pause', { token: operator })).status).to.equal(201);
      await waitForCondition('Paused on the stream', () => reasons(first).includes('Paused'), 10_000);
      const paused = first.messages.find((m) => (JSON.parse(m.data) as { reason: string }).reason === 'Paused')!;
      expect(paused.id).to.equal(String((JSON.parse(paused.data) as { id: number }).id));
      pausedId = paused.id!;
    } finally {
      first.close();
    }
    expect((await hv.call('POST', '/resume', { token: operator })).status).to.equal(201);
    const resumed = await openSse(`${hv.url}/hypervisor/events`, { ...auth, 'last-event-id': pausedId });
    try {
      await waitForCondition('Resumed on the resumed stream', () => reasons(resumed).includes('Resumed'), 10_000);
      expect(reasons(resumed)).not.to.include('Paused');
      for (const message of resumed.messages) expect(Number(message.id)).to.be.greaterThan(Number(pausedId));
    } finally {
      resumed.close();
    }
  });

  it('refuses a Last-Event-ID that is not a whole number (400)', async () => {
    const answer = await hv.call<{ error: { code: string } }>('GET', '/events', {
      token,
      headers: { accept: 'text/event-stream', 'last-event-id': '12; DROP' },
    });
    expect(answer.status).to.equal(400);
    expect(answer.json.error.code).to.equal('invalid_last_event_id');
  });

  it('sends the status at once, then again when it changes', async () => {
    const stream = await openSse(`${hv.url}/hypervisor/status`, { authorization: `Bearer ${token}` });
    const pausedIn = (m: SseMessage): boolean =>
      (JSON.parse(m.data) as { revision: { doc: { paused: boolean } } }).revision.doc.paused;
    try {
      expect(stream.status).to.equal(200);
      await waitForCondition('the first status', () => stream.messages.length >= 1, 10_000);
      expect(pausedIn(stream.messages[0]!)).to.equal(false);
      expect((await hv.call('POST', '/pause', { token: operator })).status).to.equal(201);
      await waitForCondition('a paused status', () => stream.messages.some(pausedIn), 10_000);
    } finally {
      stream.close();
      await hv.call('POST', '/resume', { token: operator });
    }
  });
});
