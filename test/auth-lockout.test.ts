// The login lockout against a real store, on a fake clock: how long each lock lasts, how it grows
// and where it stops, what a reservation says meanwhile, and what clears a name. Time moves only
// when a test moves it, so every figure is exact and no test waits for a lock to end.
import { expect } from 'chai';
import { LoginLockout, type LockoutSettings } from '../api/auth/lockout.js';
import { EmbeddedStore } from '../store/embedded.js';

const SETTINGS: LockoutSettings = { threshold: 3, baseMs: 1_000, maxMs: 8_000 };
const LOCKED_BUSY = { locked: true, retryAfterMs: 1_000 };
const OPEN = { locked: false, retryAfterMs: 0 };

describe('auth: login lockout timing (real store, fake clock)', () => {
  let store: EmbeddedStore;
  let clock: number;
  let lockout: LoginLockout;

  beforeEach(async () => {
    store = new EmbeddedStore({ path: ':memory:' });
    await store.init();
    // The store forgets a record by the real clock: start the fake one at the real time and only move it on.
    clock = Date.now();
    lockout = new LoginLockout(SETTINGS, store, { now: () => clock });
  });
  afterEach(async () => {
    await store.close();
  });

  /** One failed attempt as the auth service makes it: reserve, fail, release. */
  async function failOnce(name: string): Promise<number | null> {
    expect(await lockout.reserve(name)).to.deep.equal(OPEN);
    try {
      return (await lockout.fail(name)).lockedForMs;
    } finally {
      lockout.release(name);
    }
  }

  it('locks a name on the threshold-th failure in a row for base, to the millisecond', async () => {
    expect(await failOnce('ana')).to.equal(null);
    expect(await failOnce('ana')).to.equal(null);
    expect(await lockout.check('ana')).to.deep.equal(OPEN);
    expect(await failOnce('ana')).to.equal(1_000);
    expect(await lockout.check('ana')).to.deep.equal({ locked: true, retryAfterMs: 1_000 });
    clock += 999;
    expect(await lockout.check('ana')).to.deep.equal({ locked: true, retryAfterMs: 1 });
    clock += 1;
    expect(await lockout.check('ana')).to.deep.equal(OPEN);
  });

  it('locks again at once on a failure after a lock ends, twice as long each time, up to max', async () => {
    for (let i = 0; i < 2; i++) await failOnce('ana');
    const locks: Array<number | null> = [];
    for (let i = 0; i < 6; i++) {
      const lockedForMs = await failOnce('ana');
      locks.push(lockedForMs);
      clock += lockedForMs ?? 0;
    }
    expect(locks).to.deep.equal([1_000, 2_000, 4_000, 8_000, 8_000, 8_000]);
  });

  it('refuses a reservation while locked with the time left; once it ends, one attempt at a time', async () => {
    for (let i = 0; i < 3; i++) await failOnce('ana');
    clock += 400;
    expect(await lockout.reserve('ana')).to.deep.equal({ locked: true, retryAfterMs: 600 });
    clock += 600;
    expect(await lockout.reserve('ana')).to.deep.equal(OPEN);
    expect(await lockout.reserve('ana'), 'its failure would lock: no second attempt meanwhile').to.deep.equal(
      LOCKED_BUSY,
    );
    lockout.release('ana');
    expect(await lockout.reserve('ana')).to.deep.equal(OPEN);
    lockout.release('ana');
  });

  it('counts attempts in progress toward the threshold, and another name not at all', async () => {
    const reserved = await Promise.all([1, 2, 3, 4].map(() => lockout.reserve('ana')));
    expect(reserved).to.deep.equal([OPEN, OPEN, OPEN, LOCKED_BUSY]);
    expect(await lockout.reserve('bo')).to.deep.equal(OPEN);
    lockout.release('bo');
    lockout.release('ana');
    expect(await lockout.reserve('ana'), 'a slot freed').to.deep.equal(OPEN);
    for (let i = 0; i < 3; i++) lockout.release('ana');
  });

  it('forgets the failures of a name after a good login, but not after a restart', async () => {
    await failOnce('ana');
    await failOnce('ana');
    await lockout.succeed('ana');
    expect(await failOnce('ana')).to.equal(null);
    expect(await failOnce('ana')).to.equal(null);
    const restarted = new LoginLockout(SETTINGS, store, { now: () => clock });
    expect((await restarted.fail('ana')).lockedForMs, 'the count lives in the store').to.equal(1_000);
    clock += 250;
    expect(await restarted.check('ana')).to.deep.equal({ locked: true, retryAfterMs: 750 });
  });

  it('refuses settings that could never lock or never end a lock, naming the value', () => {
    expect(() => new LoginLockout({ ...SETTINGS, threshold: 0 }, store)).to.throw(RangeError, /got 0/);
    expect(() => new LoginLockout({ ...SETTINGS, threshold: 2.5 }, store)).to.throw(RangeError, /got 2.5/);
    expect(() => new LoginLockout({ ...SETTINGS, baseMs: 0 }, store)).to.throw(RangeError, /got 0 and 8000/);
    expect(() => new LoginLockout({ ...SETTINGS, maxMs: 500 }, store)).to.throw(RangeError, /got 1000 and 500/);
  });
});
