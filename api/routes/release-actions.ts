// Operator actions on one release. Restaging a tag is POST /stage; these are the rebuild (the record
// goes back to pending and its build is queued again, at the same commit) and a new smoke run (the
// release's smoke result is cleared, so the next pass runs the gate again against its Ready color).
import { Router } from 'express';
import { validateTag } from '../../desired-state/document.js';
import { smokeTarget } from '../../desired-state/transitions.js';
import { audit } from '../audit.js';
import { allow, principalOf } from '../auth/gate.js';
import { readEmptyBody } from '../body.js';
import type { ApiDeps } from '../deps.js';
import { HttpError } from '../http-error.js';

export function releaseActionRoutes(deps: ApiDeps): Router {
  const router = Router();
  router.post('/releases/:tag/rebuild', allow('operator'), async (req, res) => {
    readEmptyBody(req);
    if (!deps.releases) throw new HttpError(503, 'unavailable', 'this daemon builds no releases on demand');
    const tag = String(req.params.tag);
    // The request is recorded before the build it causes is queued: events follow causes.
    const release = await deps.releases.rebuild(tag, principalOf(res).username, () =>
      audit(deps.store, res, { reason: 'RebuildRequested', message: `rebuild of ${tag} requested`, data: { tag } }),
    );
    res.status(202).json({ release });
  });
  router.post('/releases/:tag/smoke', allow('operator'), async (req, res) => {
    readEmptyBody(req);
    if (!deps.smokeGate) throw new HttpError(409, 'gate_off', 'the smoke gate is off: set gates.smoke in the config');
    const tag = validateTag(String(req.params.tag), deps.desired.tagPattern, 'tag') as string;
    if ((await deps.store.getRelease(tag)) === null) throw new HttpError(404, 'not_found', `no release ${tag}`);
    const color = smokeTarget(tag, deps.reconciler.status().colors);
    await audit(deps.store, res, {
      reason: 'SmokeRequested',
      color,
      message: `smoke test of ${tag} against ${color} requested`,
      data: { tag },
    });
    await deps.store.updateRelease(tag, { smoke: null });
    const pass = await deps.reconciler.trigger();
    res.status(202).json({ tag, color, smoke: pass.status.colors?.[color]?.smoke ?? null });
  });
  return router;
}
