// The rules of stage, switch and autoStage, in one place: pure functions from (document, facts) to
// the next document or a typed refusal (refusals.ts). The facts (release records, what each color
// runs, the revision history) are read by the caller and handed in; nothing here does I/O, so the
// API, the release policy and the tests all get the same answer from the same facts.
// Rollback, which also needs the deployment ledger, is in rollback.ts.
import {
  otherColor,
  type Color,
  type DesiredDoc,
  type Phase,
  type ReleaseRecord,
  type Revision,
} from '../common/types.js';
import type { SmokeReport } from '../common/status.js';
import {
  GateFailedError,
  NotReadyError,
  NotRunningError,
  ReleaseFailedError,
  SmokeRunningError,
  UnknownTagError,
} from './refusals.js';
import { compareTags, isNewerThanAll } from './tags.js';

/** A color as the last reconcile pass saw it (reconciler/status.ts ColorReport has these fields). */
export interface ColorFacts {
  phase: Phase;
  message: string;
  desiredTag: string | null;
  runningTag: string | null;
  /** Its smoke gate; absent or null when the gate is off or the color is not Ready. */
  smoke?: SmokeReport | null;
}

/** Per color; null before the first pass has reported. */
export type ColorsFacts = Readonly<Record<Color, ColorFacts>> | null;

/** What is known about a tag an operator wants to stage. */
export interface TagFacts {
  release: ReleaseRecord | null;
  /** The backend repo has the tag (after a fetch). */
  inRepo: boolean;
  /** The newest tags that do exist, for the refusal of an unknown one. */
  newest: readonly string[];
}

export interface Staged {
  doc: DesiredDoc;
  color: Color;
}

/**
 * Puts `tag` on `color`, by default the inactive one (stagingColor), so the active color keeps
 * serving. A tag one color already has is left there. On a host where no color is active the
 * staged color becomes the active one: there is no traffic to protect, and it serves once Ready.
 */
export function stage(doc: DesiredDoc, request: { tag: string; color?: Color }, facts: TagFacts): Staged {
  checkStageable(request.tag, facts);
  const { tag } = request;
  const color = request.color ?? stagingColor(doc, tag) ?? colorWith(doc, tag);
  const colors = doc.colors[color].tag === tag ? doc.colors : { ...doc.colors, [color]: { tag } };
  return { doc: { ...doc, colors, active: doc.active ?? color }, color };
}

/** Throws UnknownTagError or ReleaseFailedError when staging `tag` cannot work. */
export function checkStageable(tag: string, facts: TagFacts): void {
  const { release } = facts;
  if (release === null && !facts.inRepo) throw new UnknownTagError(tag, facts.newest);
  if (release?.status === 'failed' || release?.status === 'rejected')
    throw new ReleaseFailedError(tag, release.status, release.error, logCommand(release));
}

/** The hyper-cli command that shows why a release failed, or null when no step ran (no log). */
export function logCommand(release: ReleaseRecord): string | null {
  if (release.test !== null) return `hyper-cli logs ${release.tag} --test`;
  if (release.build !== null) return `hyper-cli logs ${release.tag}`;
  return null;
}

/** The hyper-cli command that shows a release's smoke log. */
export function smokeLogCommand(tag: string): string {
  return `hyper-cli logs ${tag} --smoke`;
}

/**
 * The color a new tag goes to: the inactive one; with none active, a color without a tag
 * (blue first). Null when a color already has the tag: staging it again changes nothing.
 */
export function stagingColor(doc: DesiredDoc, tag: string): Color | null {
  if (doc.colors.blue.tag === tag || doc.colors.green.tag === tag) return null;
  if (doc.active !== null) return otherColor(doc.active);
  return doc.colors.blue.tag === null || doc.colors.green.tag !== null ? 'blue' : 'green';
}

function colorWith(doc: DesiredDoc, tag: string): Color {
  if (doc.active !== null && doc.colors[doc.active].tag === tag) return doc.active;
  return doc.colors.blue.tag === tag ? 'blue' : 'green';
}

export interface Switched {
  doc: DesiredDoc;
  from: Color | null;
  to: Color;
}

/**
 * Traffic to `to` (by default the other color; blue when none is active), only when that color
 * is Ready at its desired tag (ARCHITECTURE.md, "The loop"). Switching to the active color changes nothing.
 */
export function switchTo(doc: DesiredDoc, to: Color | undefined, colors: ColorsFacts): Switched {
  const from = doc.active;
  const target = to ?? otherColor(from ?? 'green');
  if (target === from) return { doc, from, to: target };
  requirePromotable(target, doc.colors[target].tag, colors, from);
  return { doc: { ...doc, active: target }, from, to: target };
}

/**
 * Throws NotReadyError unless `color` was seen Ready running `tag` (a color whose smoke gate runs
 * is Verifying, not Ready), and GateFailedError when its smoke gate failed: the rule of every move
 * of traffic to a color (switch, autoPromote, rollback).
 */
export function requirePromotable(color: Color, tag: string | null, colors: ColorsFacts, from: Color | null): void {
  requireReady(color, tag, colors, from);
  const smoke = colors?.[color]?.smoke;
  if (smoke?.state === 'failed') {
    throw new GateFailedError(
      color,
      'smoke',
      `${color} is not promotable: ${smoke.message}; traffic stays on ${from ?? 'nothing'}`,
      {
        tag,
        logCommand: smoke.logCommand,
      },
    );
  }
}

/**
 * The color a new smoke run of `tag` goes against: one that runs the tag and is Ready (or Verifying
 * with no run under way). Throws SmokeRunningError while one runs, NotRunningError when no color
 * runs the tag Ready.
 */
export function smokeTarget(tag: string, colors: ColorsFacts): Color {
  const runs = (['blue', 'green'] as const).filter(
    (c) => colors?.[c]?.desiredTag === tag && colors[c].runningTag === tag,
  );
  const busy = runs.find((c) => colors?.[c]?.smoke?.state === 'running' || colors?.[c]?.smoke?.state === 'queued');
  if (busy !== undefined) throw new SmokeRunningError(tag, busy, colors?.[busy]?.smoke?.logCommand ?? null);
  const target = runs.find((c) => colors?.[c]?.phase === 'Ready' || colors?.[c]?.phase === 'Verifying');
  if (target !== undefined) return target;
  const seen = runs.map((c) => `${c} is ${colors?.[c]?.phase}: ${colors?.[c]?.message}`).join('; ');
  const next = seen ? ` (${seen})` : `; stage it first: hyper-cli stage ${tag}`;
  throw new NotRunningError(tag, `no color runs ${tag} Ready, so there is nothing to smoke test${next}`);
}

/** Whether `requirePromotable` would let traffic move to `color` at `tag`. */
export function isPromotable(color: Color, tag: string | null, colors: ColorsFacts): boolean {
  try {
    requirePromotable(color, tag, colors, null);
    return true;
  } catch (err) {
    if (err instanceof NotReadyError || err instanceof GateFailedError) return false;
    throw err;
  }
}

/** Throws NotReadyError unless `color` was seen Ready running `tag`. */
export function requireReady(color: Color, tag: string | null, colors: ColorsFacts, from: Color | null): void {
  const stays = `traffic stays on ${from ?? 'nothing'}`;
  if (tag === null)
    throw new NotReadyError(
      color,
      `${color} is not Ready: it has no tag (hyper-cli stage <tag> --color ${color} first); ${stays}`,
    );
  const seen = colors?.[color];
  if (seen?.phase === 'Ready' && seen.runningTag === tag && seen.desiredTag === tag) return;
  const why = seen ? `${seen.phase}: ${seen.message}` : 'not observed yet';
  throw new NotReadyError(color, `${color} is not Ready at ${tag} (${why}); ${stays}`, {
    tag,
    phase: seen?.phase ?? null,
  });
}

/** The newest webhook release that passed BUILD and TEST and is newer than what both colors have. */
export function autoStageCandidate(doc: DesiredDoc, releases: readonly ReleaseRecord[]): ReleaseRecord | null {
  const passed = releases.filter((r) => r.status === 'succeeded' && r.origin?.source === 'webhook');
  const newest = passed.reduce<ReleaseRecord | null>(
    (best, r) => (best === null || compareTags(r.tag, best.tag) > 0 ? r : best),
    null,
  );
  if (newest === null || !isNewerThanAll(newest.tag, [doc.colors.blue.tag, doc.colors.green.tag])) return null;
  return newest;
}

/** Revisions newest first; `complete` when they reach back to the start of history. */
export interface History {
  revisions: readonly Revision[];
  complete: boolean;
}

export interface AutoStaged extends Staged {
  tag: string;
  /** Who pushed the tag: the author of the revision. */
  actor: string;
}

/**
 * autoStage, level-triggered: on any pass, the candidate goes onto the inactive color, unless a
 * revision already named it. That last rule is what keeps it from flapping: once staged, by the
 * policy or by hand, a release is never staged again on its own, so an operator who then puts an
 * older tag on the inactive color keeps it. When the history read does not reach back to the
 * release's creation, nothing is staged (it cannot be shown that it never was).
 */
export function autoStage(doc: DesiredDoc, candidate: ReleaseRecord | null, history: History): AutoStaged | null {
  if (candidate === null || autoStageCandidate(doc, [candidate]) === null) return null;
  const { tag } = candidate;
  if (history.revisions.some((r) => r.doc.colors.blue.tag === tag || r.doc.colors.green.tag === tag)) return null;
  const oldest = history.revisions.at(-1);
  if (!history.complete && oldest !== undefined && Date.parse(oldest.time) >= Date.parse(candidate.createdAt))
    return null;
  const color = stagingColor(doc, tag)!;
  return {
    doc: { ...doc, colors: { ...doc.colors, [color]: { tag } } },
    color,
    tag,
    actor: candidate.origin?.actor ?? 'webhook',
  };
}
