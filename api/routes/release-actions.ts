// Operator actions on one release. Restaging a tag is POST /stage; this is the rebuild: the record
// goes back to pending and its build is queued again, at the same commit.
import { Router } from 'express';
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
  return router;
}
