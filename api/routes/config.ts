// The running config: GET shows it with secret values redacted (secret files are named, never read
// out); PUT /config/:key changes one key of `policy`, `gates` or `notify` at runtime (admins only),
// checked like the file, persisted in the overrides file and audited with the hyperuser's name.
import { Router, type Request } from 'express';
import { redactAt, redactConfig } from '../../config/redact.js';
import { NoConfigFileError, type RuntimeConfigPort } from '../../config/overrides.js';
import { audit } from '../audit.js';
import { allow, principalOf } from '../auth/gate.js';
import type { ApiDeps } from '../deps.js';
import { HttpError } from '../http-error.js';
import type { ConfigAnswer, ConfigSetAnswer } from '../wire.js';

export function configRoutes(deps: ApiDeps): Router {
  const router = Router();
  router.get('/config', allow('viewer'), (_req, res) => {
    const config = runtime(deps);
    const answer: ConfigAnswer = {
      config: redactConfig(config.current()),
      overridesFile: config.overridesFile,
      overrides: config.overrides().map(({ key, by, at }) => ({ key, by, at })),
    };
    res.json(answer);
  });
  router.put('/config/:key', allow('admin'), async (req, res) => {
    const key = String(req.params.key);
    const value = bodyValue(req);
    const by = principalOf(res).username;
    await runtime(deps)
      .set({ key, value, by, at: new Date().toISOString() })
      .catch((err: unknown) => {
        if (err instanceof NoConfigFileError) throw new HttpError(503, err.code, err.message);
        throw err;
      });
    const appliesAt = key.split('.')[0] === 'gates' ? 'next start' : 'now';
    const when = appliesAt === 'now' ? 'applied without a restart' : 'saved; applied at the next start';
    await audit(deps.store, res, {
      reason: 'ConfigChanged',
      message: `${by} set ${key} to ${JSON.stringify(redactAt(key, value))} (${when})`,
      data: { key },
    });
    const answer: ConfigSetAnswer = { key, changed: true, appliesAt, config: redactConfig(runtime(deps).current()) };
    res.json(answer);
  });
  return router;
}

function runtime(deps: ApiDeps): RuntimeConfigPort {
  if (!deps.config) throw new HttpError(503, 'unavailable', 'this API serves no config');
  return deps.config;
}

function bodyValue(req: Request): unknown {
  const body = req.body as { value?: unknown } | undefined;
  if (typeof body !== 'object' || body === null || Array.isArray(body) || !('value' in body))
    throw new HttpError(400, 'invalid_body', 'the body must be JSON {"value": ...}');
  const extra = Object.keys(body).filter((k) => k !== 'value');
  if (extra.length > 0) throw new HttpError(400, 'invalid_body', `unknown body key ${extra[0]}; send {"value": ...}`);
  return body.value;
}
