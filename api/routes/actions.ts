// Conveniences that write desired state (stage, switch, rollback, pause, resume) and a way to run a
// pass now. Each is an operator's call, audited with their name.
import { Router, type Response } from 'express';
import { isColor, otherColor, type Color, type DesiredDoc, type Revision } from '../../common/types.js';
import { validateTag } from '../../desired-state/document.js';
import type { ApplyResult } from '../../desired-state/revisions.js';
import { audit, auditedDesiredWrite, type AuditEvent } from '../audit.js';
import { allow, principalOf } from '../auth/gate.js';
import { readBody, readEmptyBody, required } from '../body.js';
import type { ApiDeps } from '../deps.js';
import { HttpError } from '../http-error.js';

export function actionRoutes(deps: ApiDeps): Router {
  const router = Router();
  router.post('/stage', allow('operator'), async (req, res) => {
    const body = readBody(req, { tag: 'string', color: 'string' });
    const tag = validateTag(required(body.tag, 'tag'), deps.desired.tagPattern, 'tag') as string;
    const color = body.color === undefined ? undefined : parseColor(body.color, 'color');
    let staged: Color = 'blue';
    const result = await desiredWrite(
      deps,
      res,
      (doc) => {
        staged = color ?? (doc.active === null ? 'blue' : otherColor(doc.active));
        return stage(doc, tag, staged);
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
    const body = readBody(req, { to: 'string' });
    const from = (await deps.desired.current())?.doc.active ?? null;
    const to = body.to === undefined ? otherColor(from ?? 'green') : parseColor(body.to, 'to');
    requireReady(deps, to, from);
    await moveTraffic(deps, res, to, from, 'SwitchRequested');
  });

  router.post('/rollback', allow('operator'), async (req, res) => {
    readEmptyBody(req);
    const from = (await deps.desired.current())?.doc.active ?? null;
    if (from === null)
      throw new HttpError(409, 'nothing_to_roll_back', 'no color is active, so there is nothing to roll back from');
    const previous = (await deps.desired.history(1000)).find((r) => r.doc.active !== null && r.doc.active !== from);
    if (!previous) throw new HttpError(409, 'nothing_to_roll_back', `${from} has been the only active color so far`);
    const to = otherColor(from);
    requireReady(deps, to, from);
    await moveTraffic(deps, res, to, from, 'RollbackRequested');
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
          message: `${paused ? 'paused: the loop observes and changes nothing' : 'resumed'} (revision ${revision.number})`,
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

/** Traffic moves only to a color that is Ready at its desired tag (ARCHITECTURE.md, "The loop"). */
function requireReady(deps: ApiDeps, to: Color, from: Color | null): void {
  const phase = deps.reconciler.status().colors?.[to];
  if (to !== from && phase?.phase !== 'Ready') {
    throw new HttpError(
      409,
      'not_ready',
      `${to} is not Ready (${phase ? `${phase.phase}: ${phase.message}` : 'not observed yet'}); traffic stays on ${from ?? 'nothing'}`,
    );
  }
}

async function moveTraffic(deps: ApiDeps, res: Response, to: Color, from: Color | null, reason: string): Promise<void> {
  const result = await desiredWrite(
    deps,
    res,
    (doc) => ({ ...doc, active: to }),
    (revision, changed) => ({
      reason,
      color: to,
      message: `traffic ${changed ? 'moves' : 'already goes'} to ${to}${from && from !== to ? ` from ${from}` : ''} (revision ${revision.number})`,
      data: { from, to, revision: revision.number, changed },
    }),
  );
  const pass = await deps.reconciler.trigger();
  res.status(result.changed ? 201 : 200).json({ ...result, active: pass.status.active, waiting: pass.waiting });
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

function parseColor(value: string, field: string): Color {
  if (!isColor(value))
    throw new HttpError(400, 'invalid', `${field} must be blue or green, got ${JSON.stringify(value.slice(0, 80))}`);
  return value;
}

/** Stages onto `target` (by default the inactive color, so the active one keeps serving). */
function stage(doc: DesiredDoc, tag: string, target: Color): DesiredDoc {
  const colors = { ...doc.colors, [target]: { tag } };
  return { ...doc, colors, active: doc.active ?? target };
}
