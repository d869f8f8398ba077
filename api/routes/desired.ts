// The desired-state document: read it, replace it (YAML or JSON, guarded by If-Match), compare a
// document with it, its history. A replacement that would leave no color serving is refused unless it
// says `?confirm=outage`.
import { Router, text, type Request } from 'express';
import { describeChange, emptyDesired, validateDesired } from '../../desired-state/document.js';
import { formatDesiredYaml, parseDesiredInput } from '../../desired-state/yaml.js';
import { auditedDesiredWrite } from '../audit.js';
import { allow, principalOf } from '../auth/gate.js';
import type { ApiDeps } from '../deps.js';
import { HttpError } from '../http-error.js';
import { queryInteger, queryWord } from '../query.js';
import type { DiffAnswer } from '../wire.js';

const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/plain'];
/** Named in a would_stop_traffic refusal: how an API caller (and hyper-cli) confirms. */
const CONFIRM_OUTAGE = 'send it again with ?confirm=outage (hyper-cli desired apply --confirm-outage)';
/** A diff compares any tag shape (SAFE_TAG inside the parser still refuses unsafe ones); PUT checks the tag pattern. */
const ANY_TAG = /^v.*$/;

export function desiredRoutes(deps: ApiDeps): Router {
  const router = Router();
  router.get('/desired', allow('viewer'), async (req, res) => {
    const revision = await deps.desired.current();
    if (!revision)
      throw new HttpError(404, 'no_desired_state', 'no desired state yet: PUT /hypervisor/desired or stage a tag');
    res.set('ETag', `"${revision.number}"`);
    // JSON first, so `*/*` (curl, fetch) gets JSON; any YAML type asked for by name gets YAML.
    const wanted = req.accepts(['application/json', 'application/yaml', 'application/x-yaml', 'text/yaml']);
    if (typeof wanted === 'string' && wanted.endsWith('yaml')) {
      res.type('yaml').send(formatDesiredYaml(revision.doc));
      return;
    }
    res.json(revision);
  });
  router.put('/desired', allow('operator'), text({ type: YAML_TYPES, limit: '64kb' }), async (req, res) => {
    const doc = desiredBody(req, deps.desired.tagPattern);
    const author = principalOf(res).username;
    const expected = ifMatch(req.get('If-Match'));
    const allowOutage = queryWord(req, 'confirm', 'outage');
    const meta = { source: 'api', author, expected, allowOutage, confirmOutageWith: CONFIRM_OUTAGE };
    const result = await auditedDesiredWrite(
      deps.store,
      res,
      (events) => deps.desired.apply(doc, { ...meta, events }),
      (revision, changed) => ({
        reason: 'DesiredApplied',
        message: changed
          ? `desired state revision ${revision.number} applied`
          : `desired state unchanged at revision ${revision.number}`,
        data: { revision: revision.number, changed },
      }),
    );
    res
      .status(result.changed ? 201 : 200)
      .set('ETag', `"${result.revision.number}"`)
      .json(result);
  });
  // What applying a document would change, one line per difference; nothing is written.
  router.post('/desired/diff', allow('viewer'), text({ type: YAML_TYPES, limit: '64kb' }), async (req, res) => {
    const proposed = validateDesired(desiredBody(req, ANY_TAG), ANY_TAG);
    const current = await deps.desired.current();
    const changes = describeChange(current?.doc ?? emptyDesired(), proposed);
    const revision = current?.number ?? null;
    res.json({ revision, differs: changes.length > 0, changes, proposed } satisfies DiffAnswer);
  });
  router.get('/desired/history', allow('viewer'), async (req, res) => {
    const limit = queryInteger(req, 'limit', 100, 1, 1000);
    res.json({ revisions: await deps.desired.history(limit) });
  });
  return router;
}

/** JSON is parsed by the app's JSON parser, YAML by this route's text parser; other types are refused. */
function desiredBody(req: Request, tagPattern: RegExp): unknown {
  const type = req.is(['json', ...YAML_TYPES]);
  if (type === false) {
    throw new HttpError(
      415,
      'unsupported_media_type',
      'send the desired state as application/json or application/yaml, got ' +
        `${JSON.stringify(req.get('content-type') ?? '')}`,
    );
  }
  if (typeof req.body !== 'string') return req.body;
  // The document's own `allowOutage: true` travels with it, as in a JSON body.
  const { doc, allowOutage } = parseDesiredInput(req.body, tagPattern);
  return allowOutage ? { ...doc, allowOutage } : doc;
}

function ifMatch(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const value = header.replace(/^W\//, '').replace(/"/g, '').trim();
  if (!/^\d{1,12}$/.test(value))
    throw new HttpError(400, 'invalid_if_match', `If-Match must be a revision number, got ${JSON.stringify(header)}`);
  return Number(value);
}
