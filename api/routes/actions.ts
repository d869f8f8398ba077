// Conveniences that write desired state (stage, switch, rollback, pause, resume) and a way to run a
// pass now. Each is an operator's call, audited with their name. The rules are the transitions'
// (desired-state/transitions.ts, rollback.ts): a route gathers the facts, runs the transition inside
// the read-modify-write, and a refusal (a typed error) writes nothing.
import { Router, type Response } from 'express';
import { describeValue } from '../../common/describe.js';
import { isColor, type Color, type DesiredDoc, type Revision } from '../../common/types.js';
import { validateTag } from '../../desired-state/document.js';
import type { ApplyResult } from '../../desired-state/revisions.js';
import { rollback, type RolledBack } from '../../desired-state/rollback.js';
import { stage, switchTo, type Switched, type TagFacts } from '../../desired-state/transitions.js';
import { audit, auditedDesiredWrite, type AuditEvent } from '../audit.js';
import { allow, principalOf } from '../auth/gate.js';
import { readBody, readEmptyBody, required } from '../body.js';
import type { ApiDeps } from '../deps.js';
import { HttpError } from '../http-error.js';

/** Enough of the ledger to reach the color that served before, past replacements in place. */
const LEDGER_READ = 100;

export function actionRoutes(deps: ApiDeps): Router {
  const router = Router();

  router.post('/stage', allow('operator'), async (req, res) => {
    const body = readBody(req, { tag: 'string', color: 'string' });
    const tag = validateTag(required(body.tag, 'tag'), deps.desired.tagPattern, 'tag') as string;
    const color = body.color === undefined ? undefined : parseColor(body.color, 'color');
    const facts = await tagFacts(deps, tag);
    // Set by the mutator, which update() may run again on a newer revision.
    let staged: Color = 'blue';
    const result = await desiredWrite(
      deps,
      res,
      (doc) => {
        const next = stage(doc, { tag, color }, facts);
        staged = next.color;
        return next.doc;
      },
      (revision, changed) => ({
        reason: 'Staged',
        color: staged,
        message: `${tag} staged on ${staged} (revision ${revision.number})`,
        data: { tag, revision: revision.number, changed },
      }),
    );
    const pass = await deps.reconciler.trigger();
    res.status(result.changed ? 201 : 200).json({ ...result, color: staged, waiting: pass.waiting });
  });

  router.post('/switch', allow('operator'), async (req, res) => {
    const body = readBody(req, { to: 'string', now: 'boolean' });
    const to = body.to === undefined ? undefined : parseColor(body.to, 'to');
    const colors = deps.reconciler.status().colors;
    let moved: Switched | null = null;
    const result = await desiredWrite(
      deps,
      res,
      (doc) => (moved = switchTo(doc, to, colors)).doc,
      (revision, changed) => {
        const { from, to: target } = moved!;
        return {
          reason: 'SwitchRequested',
          color: target,
          message:
            `traffic ${changed ? 'moves' : 'already goes'} to ` +
            `${target}${from && from !== target ? ` from ${from}` : ''} (revision ${revision.number})`,
          data: { from, to: target, revision: revision.number, changed, now: body.now === true },
        };
      },
    );
    // After the write: a refused switch skips nothing. The tag is the one the revision names.
    const target = result.revision.doc.active;
    const tag = target === null ? null : result.revision.doc.colors[target].tag;
    if (body.now === true && target !== null && tag !== null) await deps.reconciler.skipCanary(target, tag);
    await answerMove(deps, res, result, {});
  });

  router.post('/rollback', allow('operator'), async (req, res) => {
    readEmptyBody(req);
    const ledger = await deps.store.listDeployments(LEDGER_READ);
    const colors = deps.reconciler.status().colors;
    let back: RolledBack | null = null;
    const result = await desiredWrite(
      deps,
      res,
      (doc) => (back = rollback(doc, { ledger, colors })).doc,
      (revision, changed) => {
        const { to, tag, from, fromTag } = back!;
        return {
          reason: 'RollbackRequested',
          color: to,
          message: `traffic goes back to ${to} (${tag}) from ${from} (${fromTag}) (revision ${revision.number})`,
          data: { from, fromTag, to, tag, revision: revision.number, changed },
        };
      },
    );
    const { to, tag, from, fromTag } = back!;
    await answerMove(deps, res, result, { rollback: { from, fromTag, to, tag } });
  });

  for (const [route, paused] of [
    ['/pause', true],
    ['/resume', false],
  ] as const) {
    router.post(route, allow('operator'), async (req, res) => {
      readEmptyBody(req);
      const result = await desiredWrite(
        deps,
        res,
        (doc) => ({ ...doc, paused }),
        (revision, changed) => ({
          reason: paused ? 'Paused' : 'Resumed',
          message:
            `${paused ? 'paused: the loop observes and changes nothing' : 'resumed'} ` +
            `(revision ${revision.number})`,
          data: { revision: revision.number, changed },
        }),
      );
      res.status(result.changed ? 201 : 200).json(result);
    });
  }

  router.post('/reconcile', allow('operator'), async (req, res) => {
    readEmptyBody(req);
    await audit(deps.store, res, { reason: 'ReconcileRequested', message: 'a reconcile pass was requested' });
    res.json(await deps.reconciler.trigger());
  });

  return router;
}

/** Runs a pass at once, so the answer says where traffic goes now (or what it waits for). */
async function answerMove(
  deps: ApiDeps,
  res: Response,
  result: ApplyResult,
  extra: Record<string, unknown>,
): Promise<void> {
  const pass = await deps.reconciler.trigger();
  res
    .status(result.changed ? 201 : 200)
    .json({ ...result, ...extra, active: pass.status.active, waiting: pass.waiting });
}

/** An operator's read-modify-write of the desired state, stored with its audit line in one transaction. */
function desiredWrite(
  deps: ApiDeps,
  res: Response,
  mutate: (doc: DesiredDoc) => DesiredDoc,
  describe: (revision: Revision, changed: boolean) => AuditEvent,
): Promise<ApplyResult> {
  const author = principalOf(res).username;
  return auditedDesiredWrite(
    deps.store,
    res,
    (events) => deps.desired.update(mutate, { source: 'api', author, events }),
    describe,
  );
}

/**
 * What stage needs to know about a tag: its release record, else whether the backend repo has it
 * (fetched first, so a tag pushed a moment ago counts).
 */
async function tagFacts(deps: ApiDeps, tag: string): Promise<TagFacts> {
  const release = await deps.store.getRelease(tag);
  // With a record the repo is not asked: the record says all a stage needs.
  if (release !== null) return { release, inRepo: true, newest: [] };
  if (!deps.releases) throw new HttpError(503, 'unavailable', 'this daemon cannot look tags up in the backend repo');
  return { release: null, ...(await deps.releases.lookupTag(tag)) };
}

function parseColor(value: string, field: string): Color {
  if (!isColor(value))
    throw new HttpError(400, 'invalid', `${field} must be blue or green, got ${describeValue(value)}`);
  return value;
}
