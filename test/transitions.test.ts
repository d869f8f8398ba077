// The transitions as tables, like test/plan.test.ts: (document, facts) -> next document or the
// refusal, by class. Every rule of stage, switch, rollback and autoStage has a row here.
import { expect } from 'chai';
import type { Color, Deployment, DesiredDoc, Phase, ReleaseRecord, Revision } from '../common/types.js';
import {
  NothingToRollBackError,
  NotReadyError,
  ReleaseFailedError,
  RollbackTargetChangedError,
  UnknownTagError,
  type TransitionRefusedError,
} from '../desired-state/refusals.js';
import { rollback } from '../desired-state/rollback.js';
import { compareTags, newestTags } from '../desired-state/tags.js';
import {
  autoStage,
  autoStageCandidate,
  stage,
  stagingColor,
  switchTo,
  type ColorFacts,
  type ColorsFacts,
  type TagFacts,
} from '../desired-state/transitions.js';

const V0 = 'v26.11.26.0';
const V1 = 'v26.11.27.0';
const V2 = 'v26.11.27.1';
const V3 = 'v26.11.27.2';
const V10 = 'v26.11.27.10';

type RefusalClass = new (...args: never[]) => TransitionRefusedError;

function doc(active: Color | null, blue: string | null, green: string | null): DesiredDoc {
  return { active, colors: { blue: { tag: blue }, green: { tag: green } }, paused: false };
}

function seen(phase: Phase, running: string | null, desired = running): ColorFacts {
  return {
    phase,
    message: phase === 'Ready' ? `serving ${running}` : 'starting',
    desiredTag: desired,
    runningTag: running,
  };
}

const colors = (blue: ColorFacts, green: ColorFacts): ColorsFacts => ({ blue, green });
const EMPTY = seen('Empty', null);

function release(tag: string, patch: Partial<ReleaseRecord> = {}): ReleaseRecord {
  return {
    tag,
    sha: 'a'.repeat(40),
    version: tag.slice(1),
    author: 'Example Tester <t@example.invalid>',
    status: 'succeeded',
    error: null,
    build: null,
    test: null,
    artifactPath: `/a/${tag}`,
    createdAt: '2026-11-27T10:00:00.000Z',
    updatedAt: '2026-11-27T10:01:00.000Z',
    origin: { source: 'webhook', actor: 'github:ana' },
    ...patch,
  };
}

const STEP = {
  exitCode: 1,
  signal: null,
  timedOut: false,
  durationMs: 5,
  logPath: '/l',
  startedAt: '2026-11-27T10:00:00.000Z',
  finishedAt: '2026-11-27T10:00:01.000Z',
};

function refusal(run: () => unknown): TransitionRefusedError {
  try {
    run();
  } catch (err) {
    return err as TransitionRefusedError;
  }
  throw new Error('expected a refusal, the transition went through');
}

describe('transitions: tag order', () => {
  it('compares tags by their numbers, and lists the newest first', () => {
    const rows: Array<[string, string, number]> = [
      [V1, V2, -1],
      [V10, V2, 1],
      [V1, V1, 0],
      [V0, V1, -1],
      ['v27.01.01.0', V10, 1],
      ['v1.2', 'v1.2.1', -1],
      ['vbeta', 'valpha', 1],
    ];
    for (const [a, b, sign] of rows) expect(Math.sign(compareTags(a, b)), `${a} vs ${b}`).to.equal(sign);
    expect(newestTags([V1, V10, V2, V1, V0], 3)).to.deep.equal([V10, V2, V1]);
  });
});

describe('transitions: stage', () => {
  const known: TagFacts = { release: null, inRepo: true, newest: [] };

  it('picks the color: the inactive one, an empty one when none is active, none when a color has the tag', () => {
    const rows: Array<[DesiredDoc, string, Color | null]> = [
      [doc('blue', V1, null), V2, 'green'],
      [doc('green', V1, V0), V2, 'blue'],
      [doc(null, null, null), V2, 'blue'],
      [doc(null, V1, null), V2, 'green'],
      [doc(null, V1, V0), V2, 'blue'],
      [doc('blue', V1, V2), V2, null],
      [doc('blue', V2, null), V2, null],
    ];
    for (const [d, tag, want] of rows) expect(stagingColor(d, tag), JSON.stringify(d)).to.equal(want);
  });

  it('writes the tag where the rule says, activates it on an empty host, and leaves a staged tag alone', () => {
    const rows: Array<[string, DesiredDoc, { tag: string; color?: Color }, DesiredDoc, Color]> = [
      ['inactive color', doc('blue', V1, null), { tag: V2 }, doc('blue', V1, V2), 'green'],
      ['first stage', doc(null, null, null), { tag: V1 }, doc('blue', V1, null), 'blue'],
      ['explicit color', doc('blue', V1, V2), { tag: V3, color: 'blue' }, doc('blue', V3, V2), 'blue'],
      ['already on the active color', doc('blue', V1, V0), { tag: V1 }, doc('blue', V1, V0), 'blue'],
      ['already on the inactive color', doc('blue', V1, V2), { tag: V2 }, doc('blue', V1, V2), 'green'],
      ['already there, nothing active', doc(null, null, V2), { tag: V2 }, doc('green', null, V2), 'green'],
      ['an older tag by hand', doc('blue', V2, V3), { tag: V0, color: 'green' }, doc('blue', V2, V0), 'green'],
    ];
    for (const [what, d, request, want, color] of rows)
      expect(stage(d, request, known), what).to.deep.equal({ doc: want, color });
  });

  it('refuses an unknown tag (naming the newest ones) and a failed or rejected release', () => {
    const failedTest = release(V2, { status: 'failed', error: 'TEST exited with code 1', build: STEP, test: STEP });
    const failedBuild = release(V2, { status: 'failed', error: 'BUILD exited with code 2', build: STEP });
    const rejected = release(V2, { status: 'rejected', error: 'VERSION at v26.11.27.1 says 26.11.27.0' });
    const rows: Array<[string, TagFacts, RefusalClass, RegExp]> = [
      [
        'unknown',
        { release: null, inRepo: false, newest: [V10, V1] },
        UnknownTagError,
        /no tag v26\.11\.27\.1 .*newest are v26\.11\.27\.10, v26\.11\.27\.0/,
      ],
      ['unknown, empty repo', { release: null, inRepo: false, newest: [] }, UnknownTagError, /no release tags yet/],
      [
        'test failed',
        { release: failedTest, inRepo: true, newest: [] },
        ReleaseFailedError,
        /failed: TEST exited with code 1; its log: hyper-cli logs v26\.11\.27\.1 --test$/,
      ],
      [
        'build failed',
        { release: failedBuild, inRepo: true, newest: [] },
        ReleaseFailedError,
        /BUILD exited with code 2; its log: hyper-cli logs v26\.11\.27\.1$/,
      ],
      ['rejected', { release: rejected, inRepo: false, newest: [] }, ReleaseFailedError, /rejected: VERSION at/],
    ];
    for (const [what, facts, type, message] of rows) {
      const err = refusal(() => stage(doc('blue', V1, null), { tag: V2 }, facts));
      expect(err, what).to.be.instanceOf(type);
      expect(err.message, what).to.match(message);
    }
    expect(
      refusal(() => stage(doc('blue', V1, null), { tag: V2 }, { release: rejected, inRepo: false, newest: [] })).code,
    ).to.equal('release_rejected');
  });

  it('stages a tag known only to the release records, or only to the repo', () => {
    for (const facts of [
      { release: release(V2), inRepo: false, newest: [] },
      { release: release(V2, { status: 'interrupted' }), inRepo: false, newest: [] },
      { release: null, inRepo: true, newest: [] },
    ])
      expect(stage(doc('blue', V1, null), { tag: V2 }, facts).doc).to.deep.equal(doc('blue', V1, V2));
  });
});

describe('transitions: switch', () => {
  it('moves traffic only to a color seen Ready at its desired tag', () => {
    const ready = colors(seen('Ready', V1), seen('Ready', V2));
    const rows: Array<[string, DesiredDoc, Color | undefined, ColorsFacts, DesiredDoc]> = [
      ['to the other color', doc('blue', V1, V2), undefined, ready, doc('green', V1, V2)],
      ['to a named color', doc('blue', V1, V2), 'green', ready, doc('green', V1, V2)],
      ['to the active color: nothing changes', doc('blue', V1, V2), 'blue', null, doc('blue', V1, V2)],
      [
        'with none active, to blue',
        doc(null, V1, null),
        undefined,
        colors(seen('Ready', V1), EMPTY),
        doc('blue', V1, null),
      ],
    ];
    for (const [what, d, to, facts, want] of rows) expect(switchTo(d, to, facts).doc, what).to.deep.equal(want);
  });

  it('refuses a color that is not Ready, runs another tag, has no tag, or was not seen yet', () => {
    const rows: Array<[string, DesiredDoc, ColorsFacts, RegExp]> = [
      [
        'starting',
        doc('blue', V1, V2),
        colors(seen('Ready', V1), seen('Starting', V2)),
        /green is not Ready at v26\.11\.27\.1 \(Starting/,
      ],
      [
        'runs the old tag',
        doc('blue', V1, V3),
        colors(seen('Ready', V1), seen('Ready', V2, V3)),
        /green is not Ready at v26\.11\.27\.2/,
      ],
      ['no tag', doc('blue', V1, null), colors(seen('Ready', V1), EMPTY), /green is not Ready: it has no tag/],
      ['not observed', doc('blue', V1, V2), null, /not observed yet\); traffic stays on blue/],
    ];
    for (const [what, d, facts, message] of rows) {
      const err = refusal(() => switchTo(d, 'green', facts));
      expect(err, what).to.be.instanceOf(NotReadyError);
      expect(err.message, what).to.match(message);
    }
  });
});

describe('transitions: rollback', () => {
  const ended = (id: number, color: Color, tag: string): Deployment => ({
    ...open(id, color, tag),
    endedAt: '2026-11-27T11:00:00.000Z',
    endReason: 'switched',
  });
  function open(id: number, color: Color, tag: string): Deployment {
    return {
      id,
      color,
      tag,
      version: tag.slice(1),
      revision: id,
      switchedBy: 'ana',
      source: 'api',
      startedAt: '2026-11-27T10:00:00.000Z',
      endedAt: null,
      endReason: null,
      gates: [],
      verdict: null,
    };
  }
  const ledger = [open(3, 'green', V2), ended(2, 'blue', V1), ended(1, 'green', V0)];

  it('moves traffic back to the color that served before, still at its tag and Ready', () => {
    const result = rollback(doc('green', V1, V2), { ledger, colors: colors(seen('Ready', V1), seen('Ready', V2)) });
    expect(result).to.deep.equal({ doc: doc('blue', V1, V2), to: 'blue', tag: V1, from: 'green', fromTag: V2 });
    const inPlace = [
      open(4, 'green', V3),
      { ...ended(3, 'green', V2), endReason: 'replaced' as const },
      ...ledger.slice(1),
    ];
    expect(
      rollback(doc('green', V1, V3), { ledger: inPlace, colors: colors(seen('Ready', V1), seen('Ready', V3)) }).to,
      'past a replacement in place',
    ).to.equal('blue');
  });

  it('refuses when the color that served before changed, is not Ready, or there is none', () => {
    const rows: Array<[string, DesiredDoc, Deployment[], ColorsFacts, RefusalClass, RegExp]> = [
      [
        'blue runs a new tag',
        doc('green', V3, V2),
        ledger,
        colors(seen('Ready', V3), seen('Ready', V2)),
        RollbackTargetChangedError,
        new RegExp(
          /^blue now runs v26\.11\.27\.2; it ran v26\.11\.27\.0 when it last served\. /.source +
            /Traffic stays on green \(v26\.11\.27\.1\)\. To go back to v26\.11\.27\.0: /.source +
            /hyper-cli stage v26\.11\.27\.0 --color blue, then hyper-cli switch --to blue$/.source,
        ),
      ],
      [
        'blue was given a new tag, still building',
        doc('green', V3, V2),
        ledger,
        colors(seen('Ready', V1, V1), seen('Ready', V2)),
        RollbackTargetChangedError,
        new RegExp(
          /^blue is now given v26\.11\.27\.2 \(and still runs v26\.11\.27\.0\); /.source +
            /it ran v26\.11\.27\.0 when it last served/.source,
        ),
      ],
      [
        'blue was emptied',
        doc('green', null, V2),
        ledger,
        colors(EMPTY, seen('Ready', V2)),
        RollbackTargetChangedError,
        /^blue is now given no tag/,
      ],
      [
        'blue is Degraded',
        doc('green', V1, V2),
        ledger,
        colors(seen('Degraded', V1), seen('Ready', V2)),
        NotReadyError,
        /blue is not Ready at v26\.11\.27\.0 \(Degraded/,
      ],
      [
        'nothing serves',
        doc(null, V1, V2),
        [ended(2, 'blue', V1)],
        null,
        NothingToRollBackError,
        /no color serves traffic now/,
      ],
      [
        'one color only ever',
        doc('blue', V1, null),
        [open(1, 'blue', V1)],
        null,
        NothingToRollBackError,
        /no other color served before it/,
      ],
      ['an empty ledger', doc('blue', V1, null), [], null, NothingToRollBackError, /no color serves/],
    ];
    for (const [what, d, entries, facts, type, message] of rows) {
      const err = refusal(() => rollback(d, { ledger: entries, colors: facts }));
      expect(err, what).to.be.instanceOf(type);
      expect(err.message, what).to.match(message);
    }
  });
});

describe('transitions: autoStage', () => {
  const revision = (number: number, d: DesiredDoc, time = '2026-11-27T11:00:00.000Z'): Revision => ({
    number,
    doc: d,
    source: 'api',
    author: 'ops',
    time,
  });
  const none = { revisions: [revision(1, doc('blue', V1, null))], complete: true };

  it('the candidate is the newest webhook release that passed, when it is newer than both colors', () => {
    const rows: Array<[string, DesiredDoc, ReleaseRecord[], string | null]> = [
      ['newer than both', doc('blue', V1, V0), [release(V2), release(V10)], V10],
      ['a color has it', doc('blue', V1, V10), [release(V10)], null],
      ['older than one color', doc('blue', V3, null), [release(V2)], null],
      ['failed', doc('blue', V1, null), [release(V2, { status: 'failed' })], null],
      ['still building', doc('blue', V1, null), [release(V2, { status: 'testing' })], null],
      [
        "an operator's rebuild",
        doc('blue', V1, null),
        [release(V2, { origin: { source: 'operator', actor: 'ops' } })],
        null,
      ],
      ['named by a desired state', doc('blue', V1, null), [release(V2, { origin: null })], null],
      [
        'the newest passed one is not newer',
        doc('blue', V3, null),
        [release(V2), release(V10, { status: 'failed' })],
        null,
      ],
    ];
    for (const [what, d, releases, want] of rows)
      expect(autoStageCandidate(d, releases)?.tag ?? null, what).to.equal(want);
  });

  it('stages it on the inactive color, as its pusher, unless a revision ever named it', () => {
    const d = doc('blue', V1, V0);
    expect(autoStage(d, release(V2), none)).to.deep.equal({
      doc: doc('blue', V1, V2),
      color: 'green',
      tag: V2,
      actor: 'github:ana',
    });
    expect(autoStage(doc(null, null, null), release(V2), none)?.doc, 'an empty host').to.deep.equal(
      doc(null, V2, null),
    );
    const operatorChoseOlder = {
      revisions: [revision(3, doc('blue', V1, V0)), revision(2, doc('blue', V1, V2))],
      complete: true,
    };
    expect(autoStage(d, release(V2), operatorChoseOlder), 'staged once, then replaced by hand').to.equal(null);
    expect(autoStage(d, null, none), 'no candidate').to.equal(null);
    expect(autoStage(doc('blue', V3, null), release(V2), none), 'not newer').to.equal(null);
  });

  it('stages nothing when the history read does not reach back to the release', () => {
    const recent = (time: string) => ({ revisions: [revision(900, doc('blue', V1, V0), time)], complete: false });
    expect(autoStage(doc('blue', V1, V0), release(V2), recent('2026-11-27T10:30:00.000Z'))).to.equal(null);
    expect(autoStage(doc('blue', V1, V0), release(V2), recent('2026-11-27T09:00:00.000Z'))?.color).to.equal('green');
  });
});
