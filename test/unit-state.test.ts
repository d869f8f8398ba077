// Unit states: the installed systemd's own list of states parses without an 'unknown'; a word a
// newer systemd may use parses to 'unknown' and keeps the word; and the named predicates say, for
// every active state, what the loop makes of it.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  ACTIVE_STATES,
  describeUnitState,
  isFailed,
  isLoaded,
  isNotFound,
  isRunning,
  isStarting,
  isStopped,
  isUp,
  LOAD_STATES,
  parseUnitState,
  SUB_STATES,
  type ActiveState,
} from '../common/unit-state.js';

/** `systemctl --state=help`: one heading per kind of state, then its values, one a line. */
async function installedStates(): Promise<Map<string, string[]>> {
  const { stdout } = await promisify(execFile)('systemctl', ['--state=help'], { env: { ...process.env, LC_ALL: 'C' } });
  const lists = new Map<string, string[]>();
  let heading = '';
  for (const line of stdout.split('\n')) {
    const title = /^Available (.+):$/.exec(line);
    if (title) lists.set((heading = title[1]!), []);
    else if (line.trim() !== '' && heading) lists.get(heading)!.push(line.trim());
  }
  return lists;
}

describe('unit states: closed unions of systemd words', () => {
  it("knows every load, active, service and scope state of this host's systemd", async () => {
    const lists = await installedStates();
    const expectKnown = (heading: string, known: readonly string[]): void => {
      const listed = lists.get(heading);
      expect(listed?.length ?? 0, heading).to.be.greaterThan(0);
      expect(
        listed!.filter((word) => !known.includes(word)),
        heading,
      ).to.deep.equal([]);
    };
    expectKnown('unit load states', LOAD_STATES);
    expectKnown('unit active states', ACTIVE_STATES);
    expectKnown('service unit substates', SUB_STATES);
    expectKnown('scope unit substates', SUB_STATES);
  });

  it('parses known words as themselves, with nothing unrecognized', () => {
    expect(parseUnitState({ loadState: 'loaded', activeState: 'activating', subState: 'auto-restart' })).to.deep.equal({
      loadState: 'loaded',
      activeState: 'activating',
      subState: 'auto-restart',
    });
  });

  it("parses a newer systemd's words to 'unknown' and keeps each word for the messages", () => {
    const state = parseUnitState({ loadState: 'loaded', activeState: 'hibernating', subState: 'dozing' });
    expect(state).to.deep.equal({
      loadState: 'loaded',
      activeState: 'unknown',
      subState: 'unknown',
      unrecognized: { activeState: 'hibernating', subState: 'dozing' },
    });
    expect(describeUnitState(state)).to.equal('hibernating/dozing');
    expect([isRunning(state), isUp(state), isFailed(state), isStopped(state)]).to.deep.equal([
      false,
      false,
      false,
      false,
    ]);
  });

  it('says for each active state whether it runs, starts, is up, failed or stopped', () => {
    const table: Record<
      ActiveState,
      [running: boolean, starting: boolean, up: boolean, failed: boolean, stopped: boolean]
    > = {
      active: [true, false, true, false, false],
      reloading: [true, false, true, false, false],
      refreshing: [true, false, true, false, false],
      activating: [false, true, true, false, false],
      deactivating: [false, false, false, false, false],
      inactive: [false, false, false, false, true],
      failed: [false, false, false, true, true],
      maintenance: [false, false, false, false, false],
      unknown: [false, false, false, false, false],
    };
    for (const [activeState, expected] of Object.entries(table) as Array<[ActiveState, boolean[]]>) {
      const unit = { activeState };
      expect(
        [isRunning(unit), isStarting(unit), isUp(unit), isFailed(unit), isStopped(unit)],
        activeState,
      ).to.deep.equal(expected);
    }
  });

  it('says loaded only for a loaded unit, and not found only for a missing file', () => {
    for (const loadState of [...LOAD_STATES, 'unknown'] as const) {
      expect([isLoaded({ loadState }), isNotFound({ loadState })], loadState).to.deep.equal([
        loadState === 'loaded',
        loadState === 'not-found',
      ]);
    }
  });

  it('describes a state in the words systemd used', () => {
    expect(describeUnitState({ activeState: 'failed', subState: 'failed' })).to.equal('failed/failed');
  });
});
