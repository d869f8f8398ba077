// Releases and their build and test logs (`?follow=1` streams a log while its step runs: plain
// text, or server-sent events of whole lines for the dashboard, resumable at a byte offset).
import { Router } from 'express';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { describeValue } from '../../common/describe.js';
import type { ReleaseRecord } from '../../common/types.js';
import { validateTag } from '../../desired-state/document.js';
import { logCommand } from '../../desired-state/transitions.js';
import { allow, principalOf, stillAuthenticated } from '../auth/gate.js';
import type { ApiDeps } from '../deps.js';
import { followFile, followSignal } from '../follow.js';
import { lastEventId, openSink, wantsSse } from '../follow-sink.js';
import { HttpError } from '../http-error.js';
import { queryFlag, queryInteger } from '../query.js';

const LOG_KINDS = ['build', 'test'] as const;
const RUNNING = new Set(['pending', 'building', 'testing']);

export function releaseRoutes(deps: ApiDeps): Router {
  const router = Router();
  router.get('/releases', allow('viewer'), async (req, res) => {
    res.json({ releases: await deps.store.listReleases(queryInteger(req, 'limit', 100, 1, 1000)) });
  });
  router.get('/releases/:tag', allow('viewer'), async (req, res) => {
    const release = await releaseOf(deps, String(req.params.tag));
    // The command that shows why it failed, so no client has to know which log that is.
    res.json({ release, logCommand: logCommand(release) });
  });
  router.get('/releases/:tag/logs/:kind', allow('viewer'), async (req, res) => {
    const release = await releaseOf(deps, String(req.params.tag));
    const kind = String(req.params.kind);
    if (!(LOG_KINDS as readonly string[]).includes(kind))
      throw new HttpError(404, 'not_found', `no log ${describeValue(kind)}; logs are build and test`);
    const file = path.join(deps.logsDir, release.tag, `${kind}.log`);
    const sse = wantsSse(req);
    const follow = (queryFlag(req, 'follow') || sse) && RUNNING.has(release.status);
    if (
      !follow &&
      !(await stat(file).then(
        (s) => s.isFile(),
        () => false,
      ))
    ) {
      throw new HttpError(404, 'no_log', `${release.tag} has no ${kind} log (release ${release.status})`);
    }
    const signal = followSignal(res, principalOf(res), stillAuthenticated(res));
    const sink = openSink(req, res, signal, true);
    const growing = async (): Promise<boolean> =>
      follow && RUNNING.has((await deps.store.getRelease(release.tag))?.status ?? '');
    await followFile(res, file, growing, signal, sink, sse ? (lastEventId(req) ?? 0) : 0);
  });
  return router;
}

async function releaseOf(deps: ApiDeps, rawTag: string): Promise<ReleaseRecord> {
  // The tag becomes a path below logsDir: the safe-tag check refuses `..`, slashes and the like.
  const tag = validateTag(rawTag, deps.desired.tagPattern, 'tag') as string;
  const release = await deps.store.getRelease(tag);
  if (!release) throw new HttpError(404, 'not_found', `no release ${tag}`);
  return release;
}
