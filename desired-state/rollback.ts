// Rollback means "back to what served before": traffic goes to the color that served before the
// last switch, only while that color still runs the very tag it served then and is Ready. Anything
// else is refused with what changed and how to get back by hand. A pure function of the document,
// the deployment ledger and the colors as the last pass saw them.
import type { Color, Deployment, DesiredDoc } from '../common/types.js';
import { NothingToRollBackError, RollbackTargetChangedError } from './refusals.js';
import { requirePromotable, type ColorsFacts } from './transitions.js';

export interface RollbackFacts {
  /** The deployment ledger, newest first (enough of it to reach the previous color). */
  ledger: readonly Deployment[];
  colors: ColorsFacts;
}

export interface RolledBack {
  doc: DesiredDoc;
  /** The color and tag traffic goes back to. */
  to: Color;
  tag: string;
  /** What serves now. */
  from: Color;
  fromTag: string;
}

export function rollback(doc: DesiredDoc, facts: RollbackFacts): RolledBack {
  const serving = facts.ledger.find((d) => d.endedAt === null);
  if (serving === undefined)
    throw new NothingToRollBackError('no color serves traffic now, so there is nothing to roll back from');
  const previous = facts.ledger.find((d) => d.id < serving.id && d.color !== serving.color);
  if (previous === undefined)
    throw new NothingToRollBackError(
      `${serving.color} serves ${serving.tag} and no other color served before it, so there is nothing to roll back to`,
    );
  const to = previous.color;
  const result = { to, tag: previous.tag, from: serving.color, fromTag: serving.tag };
  checkUnchanged(doc, facts.colors, previous, serving);
  requirePromotable(to, previous.tag, facts.colors, serving.color);
  return { doc: doc.active === to ? doc : { ...doc, active: to }, ...result };
}

/** Refuses when the color that served before now has (or is given) another tag than it served then. */
function checkUnchanged(doc: DesiredDoc, colors: ColorsFacts, previous: Deployment, serving: Deployment): void {
  const { color, tag } = previous;
  const desired = doc.colors[color].tag;
  const running = colors?.[color]?.runningTag ?? null;
  if (desired === tag && running === tag) return;
  const now =
    desired === tag || (desired !== null && desired === running)
      ? `${color} now runs ${running ?? 'nothing'}`
      : `${color} is now given ${desired ?? 'no tag'}${running === null ? '' : ` (and still runs ${running})`}`;
  throw new RollbackTargetChangedError(
    `${now}; it ran ${tag} when it last served. Traffic stays on ${serving.color} (${serving.tag}). ` +
      `To go back to ${tag}: hyper-cli stage ${tag} --color ${color}, then hyper-cli switch --to ${color}`,
    { color, servedTag: tag, nowTag: desired !== tag ? desired : running },
  );
}
