// Releases and their build and test logs (`?follow=1` streams a log while its step runs: plain
// text, or server-sent events of whole lines for the dashboard, resumable at a byte offset). A log
// retention removed from this host is read from the archive.
import { Router, type Request, type Response } from 'express';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ArchiveUnavailableError, type ArchivedLog } from '../../common/archive.js';
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
import { LOG_HEADERS } from '../wire.js';

const LOG_KINDS = ['build', 'test', 'smoke'] as const;
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
      throw new HttpError(404, 'not_found', `no log ${describeValue(kind)}; logs are build, test and smoke`);
    const file = path.join(deps.logsDir, release.tag, `${kind}.log`);
    const sse = wantsSse(req);
    const from = sse ? (lastEventId(req) ?? 0) : 0;
    // A step's log grows while its release builds; the smoke log while a smoke run of it is under way.
    const running = async (): Promise<boolean> =>
      kind === 'smoke'
        ? smokeUnderWay(deps, release.tag)
        : RUNNING.has((await deps.store.getRelease(release.tag))?.status ?? '');
    const follow = (queryFlag(req, 'follow') || sse) && (await running());
    if (!follow && !(await isFile(file))) {
      // Retention removes a local log only once the archive holds it: read it from there.
      const archived = await openArchived(deps, release, kind);
      if (!archived)
        throw new HttpError(404, 'no_log', `${release.tag} has no ${kind} log (release ${release.status})`);
      await sendArchived(req, res, archived, from, `${release.tag}'s ${kind} log`);
      return;
    }
    res.set(LOG_HEADERS.source, 'local');
    const signal = followSignal(res, principalOf(res), stillAuthenticated(res));
    const sink = openSink(req, res, signal, true);
    const growing = async (): Promise<boolean> => follow && (await running());
    await followFile(res, file, growing, signal, sink, from);
  });
  return router;
}

function smokeUnderWay(deps: ApiDeps, tag: string): boolean {
  const colors = deps.reconciler.status().colors;
  return Object.values(colors ?? {}).some(
    (c) => c.desiredTag === tag && (c.smoke?.state === 'running' || c.smoke?.state === 'queued'),
  );
}

async function releaseOf(deps: ApiDeps, rawTag: string): Promise<ReleaseRecord> {
  // The tag becomes a path below logsDir: the safe-tag check refuses `..`, slashes and the like.
  const tag = validateTag(rawTag, deps.desired.tagPattern, 'tag') as string;
  const release = await deps.store.getRelease(tag);
  if (!release) throw new HttpError(404, 'not_found', `no release ${tag}`);
  return release;
}

async function isFile(file: string): Promise<boolean> {
  return stat(file).then(
    (s) => s.isFile(),
    () => false,
  );
}

async function openArchived(deps: ApiDeps, release: ReleaseRecord, kind: string): Promise<ArchivedLog | null> {
  try {
    return (await deps.archivedLogs?.open(release.tag, kind)) ?? null;
  } catch (err) {
    if (!(err instanceof ArchiveUnavailableError)) throw err;
    const message =
      `${release.tag}'s ${kind} log is no longer on this host, and the archive cannot be read: ` + err.message;
    throw new HttpError(503, err.code, message, { 'Retry-After': '10' });
  }
}

/**
 * The archived copy, checked against its SHA-256 as it streams: a copy that differs is cut off (the
 * client sees a broken answer, never a wrong log as if it were right) and logged.
 */
async function sendArchived(req: Request, res: Response, log: ArchivedLog, from: number, what: string): Promise<void> {
  res.set({ [LOG_HEADERS.source]: 'archive', [LOG_HEADERS.location]: log.location, [LOG_HEADERS.sha256]: log.sha256 });
  try {
    if (wantsSse(req)) await archivedAsEvents(req, res, log, from);
    else {
      res.type('text/plain; charset=utf-8').set({ 'Cache-Control': 'no-store', 'Content-Length': String(log.size) });
      await pipeline(log.body, res);
    }
  } catch (err) {
    console.error(`hypervisor: archive: ${what} from ${log.location} was cut off: ${(err as Error).message}`);
    res.destroy();
  }
}

/** The dashboard's EventSource gets an archived log as it gets a local one: whole lines, resumable at `from`. */
async function archivedAsEvents(req: Request, res: Response, log: ArchivedLog, from: number): Promise<void> {
  const sink = openSink(req, res, followSignal(res, principalOf(res), stillAuthenticated(res)), true);
  let offset = 0;
  for await (const chunk of log.body as AsyncIterable<Buffer>) {
    const end = offset + chunk.length;
    if (end > from) await sink.bytes(offset >= from ? chunk : chunk.subarray(from - offset), end);
    offset = end;
  }
  sink.end();
}
