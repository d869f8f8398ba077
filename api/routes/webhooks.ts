// POST /hypervisor/webhooks/github: GitHub deliveries, authenticated by their signature (no token).
// Everything that can refuse a delivery runs before anything is written: size, signature, headers,
// JSON, repository, tag. Then the delivery id decides (a unique key in the store, so one of two
// racing copies wins), the raw body is kept, and tag creations go to the release intake, which
// only records and queues: the answer comes within a second, the work runs later.
import { Router, type Request, type Response } from 'express';
import type { IncomingMessage } from 'node:http';
import { describeValue } from '../../common/describe.js';
import { ValidationError } from '../../common/errors.js';
import { FULL_SHA } from '../../common/git-names.js';
import { checkJsonNesting } from '../../common/nesting.js';
import type { IntakeResult, TagCreated } from '../../reconciler/release-intake.js';
import { TagMovedError } from '../../reconciler/tag-moved.js';
import type { Store } from '../../store/store.js';
import { SIGNATURE_256_HEADER, SIGNATURE_SHA1_HEADER, verifyGithubSignature } from '../github-signature.js';
import { HttpError } from '../http-error.js';

/** What the route needs from the release intake (reconciler/release-intake.ts). */
export interface TagIntake {
  check(event: TagCreated): Promise<void>;
  accept(event: TagCreated): Promise<IntakeResult>;
}

export interface WebhookOptions {
  /** The HMAC key; null when github.secretFile is not configured (the route then answers 503). */
  secret: Buffer | null;
  /** `owner/name`; deliveries about another repository get 403. */
  repository: string | null;
  maxBodyBytes: number;
  /** Deadline for the whole body to arrive. @default 10_000 */
  readTimeoutMs?: number;
  intake: TagIntake;
  store: Pick<Store, 'insertGithubDelivery'>;
  /** The config repo (desired.git): a branch push to it makes the hypervisor pull it now. */
  configRepo?: { repository: string; pull(): void } | null;
}

/** What a verified delivery asks for. */
export type DeliveryIntent =
  | { kind: 'ping' }
  | { kind: 'tag'; tag: string; sha: string | null; actor: string }
  | { kind: 'config' }
  | { kind: 'ignored'; reason: string };

const DELIVERY_ID = /^[A-Za-z0-9-]{1,100}$/;
const EVENT_NAME = /^[a-z_]{1,64}$/;
const LOGIN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function webhookRoutes(options: WebhookOptions): Router {
  const router = Router();
  router.post('/github', async (req, res) => {
    if (options.secret === null || options.repository === null) {
      throw new HttpError(
        503,
        'webhooks_disabled',
        'GitHub webhooks are off: set github.secretFile (and github.repository) in the config and restart',
      );
    }
    const body = await readLimitedBody(req, options.maxBodyBytes, options.readTimeoutMs ?? 10_000);
    const verdict = verifyGithubSignature(
      options.secret,
      body,
      header(req, SIGNATURE_256_HEADER),
      header(req, SIGNATURE_SHA1_HEADER),
    );
    if (!verdict.ok) throw new HttpError(401, 'bad_signature', verdict.reason);
    const { deliveryId, event } = deliveryHeaders(req);
    const payload = parsePayload(req, body);
    const config = isConfigRepo(payload, options.configRepo) ? options.configRepo! : null;
    if (config === null) checkRepository(payload, options.repository, event);
    const intent = config ? classifyConfigDelivery(event, payload) : classifyDelivery(event, payload);
    const tag: TagCreated | null =
      intent.kind === 'tag' ? { tag: intent.tag, sha: intent.sha, actor: intent.actor, deliveryId } : null;
    if (tag) await refuseUnwritable(options.intake, tag);
    const { duplicate } = await options.store.insertGithubDelivery({
      deliveryId,
      event,
      payload: body.toString('utf8'),
      receivedAt: new Date().toISOString(),
    });
    if (duplicate) {
      res.json({
        delivery: deliveryId,
        duplicate: true,
        message: 'this delivery was received before; nothing was done',
      });
      return;
    }
    await answer(res, options.intake, deliveryId, intent, tag, config);
  });
  return router;
}

/** Classifies a verified delivery: only tag creations are acted on. Exported for tests. */
export function classifyDelivery(event: string, payload: Record<string, unknown>): DeliveryIntent {
  switch (event) {
    case 'ping':
      return { kind: 'ping' };
    case 'push': {
      const ref = typeof payload.ref === 'string' ? payload.ref : '';
      if (!ref.startsWith('refs/tags/'))
        return { kind: 'ignored', reason: `a push to ${describeValue(ref)} is not a tag` };
      if (payload.deleted === true) return { kind: 'ignored', reason: `a tag deletion (${describeValue(ref)})` };
      const head = payload.head_commit as { id?: unknown } | null | undefined;
      const sha = typeof head?.id === 'string' && FULL_SHA.test(head.id) ? head.id : null;
      const pusher = payload.pusher as { name?: unknown } | undefined;
      return { kind: 'tag', tag: ref.slice('refs/tags/'.length), sha, actor: actorOf(pusher?.name, payload) };
    }
    case 'create': {
      if (payload.ref_type !== 'tag')
        return { kind: 'ignored', reason: `a ${describeValue(String(payload.ref_type))} creation is not a tag` };
      return {
        kind: 'tag',
        tag: typeof payload.ref === 'string' ? payload.ref : '',
        sha: null,
        actor: actorOf(undefined, payload),
      };
    }
    default:
      return { kind: 'ignored', reason: `${event} events are not acted on` };
  }
}

function isConfigRepo(payload: Record<string, unknown>, configRepo: WebhookOptions['configRepo']): boolean {
  const named = (payload.repository as { full_name?: unknown } | undefined)?.full_name;
  return !!configRepo && typeof named === 'string' && named.toLowerCase() === configRepo.repository.toLowerCase();
}

/** Deliveries about the config repo: a branch push means "pull now"; tags mean nothing there. */
export function classifyConfigDelivery(event: string, payload: Record<string, unknown>): DeliveryIntent {
  if (event === 'ping') return { kind: 'ping' };
  const ref = typeof payload.ref === 'string' ? payload.ref : '';
  if (event === 'push' && ref.startsWith('refs/heads/')) return { kind: 'config' };
  return { kind: 'ignored', reason: `${event} to ${describeValue(ref)} of the config repo is not a branch push` };
}

async function answer(
  res: Response,
  intake: TagIntake,
  deliveryId: string,
  intent: DeliveryIntent,
  tag: TagCreated | null,
  configRepo: WebhookOptions['configRepo'],
): Promise<void> {
  if (intent.kind === 'config') {
    configRepo?.pull();
    res.status(202).json({ delivery: deliveryId, config: true, message: 'the config repo is pulled now' });
    return;
  }
  if (tag) {
    const result = await intake.accept(tag).catch(asHttp);
    res.status(result.known ? 200 : 202).json({ delivery: deliveryId, ...result });
    return;
  }
  if (intent.kind === 'ping') {
    res.json({ delivery: deliveryId, ok: true, message: 'pong' });
    return;
  }
  res.json({
    delivery: deliveryId,
    ignored: true,
    message: intent.kind === 'ignored' ? intent.reason : 'not acted on',
  });
}

/** The refusals that must leave no trace: an unsafe tag or SHA, a moved tag. */
async function refuseUnwritable(intake: TagIntake, tag: TagCreated): Promise<void> {
  await intake.check(tag).catch(asHttp);
}

function asHttp(err: unknown): never {
  if (err instanceof TagMovedError) throw new HttpError(409, 'tag_moved', err.message);
  if (err instanceof ValidationError) throw new HttpError(400, 'invalid_tag', err.message);
  throw err;
}

function deliveryHeaders(req: Request): { deliveryId: string; event: string } {
  const deliveryId = header(req, 'x-github-delivery');
  const event = header(req, 'x-github-event');
  if (deliveryId === undefined || !DELIVERY_ID.test(deliveryId)) {
    throw new HttpError(
      400,
      'bad_delivery',
      `X-GitHub-Delivery must be a delivery id (1-100 of letters, digits, -), got ${show(deliveryId)}`,
    );
  }
  if (event === undefined || !EVENT_NAME.test(event)) {
    throw new HttpError(400, 'bad_event', `X-GitHub-Event must be an event name like push, got ${show(event)}`);
  }
  return { deliveryId, event };
}

function parsePayload(req: Request, body: Buffer): Record<string, unknown> {
  if (!req.is('application/json')) {
    throw new HttpError(
      415,
      'unsupported_media_type',
      `the webhook's content type must be application/json, got ${show(req.get('content-type'))}`,
    );
  }
  const text = body.toString('utf8');
  // GitHub's payloads nest a few levels; a signed one nesting deeper is refused before JSON.parse.
  checkJsonNesting(text, 'the delivery');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, 'invalid_json', `the delivery is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new HttpError(400, 'invalid_json', 'the delivery must be a JSON object');
  return value as Record<string, unknown>;
}

function checkRepository(payload: Record<string, unknown>, repository: string, event: string): void {
  const named = (payload.repository as { full_name?: unknown } | undefined)?.full_name;
  // An organization hook's ping names no repository; it asks for nothing either.
  if (named === undefined && event === 'ping') return;
  if (typeof named !== 'string' || named.toLowerCase() !== repository.toLowerCase()) {
    throw new HttpError(
      403,
      'wrong_repository',
      `this hypervisor takes deliveries of ${repository} only, not of ${show(named)}`,
    );
  }
}

/**
 * The body as bytes, refusing (413) a declared or actual size over `limit` as soon as it is known:
 * a declared Content-Length before reading anything, a chunked body at the first byte too many.
 * The connection is closed after such an answer, so the rest is never read.
 */
export function readLimitedBody(req: IncomingMessage, limit: number, timeoutMs: number): Promise<Buffer> {
  const tooLarge = (): HttpError =>
    new HttpError(413, 'too_large', `the delivery is larger than ${limit} bytes (github.maxBodyBytes)`, {
      Connection: 'close',
    });
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (err: Error | null): void => {
      clearTimeout(timer);
      req.off('data', onData).off('end', onEnd).off('error', done).off('close', onClose);
      if (err === null) {
        resolve(Buffer.concat(chunks, size));
        return;
      }
      req.pause();
      reject(err);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) done(tooLarge());
      else chunks.push(chunk);
    };
    const onEnd = (): void => done(null);
    const onClose = (): void => done(new HttpError(400, 'aborted', 'the client went away before the body arrived'));
    const timer = setTimeout(
      () =>
        done(new HttpError(408, 'timeout', `the body did not arrive within ${timeoutMs} ms`, { Connection: 'close' })),
      timeoutMs,
    );
    req.on('data', onData).once('end', onEnd).once('error', done).once('close', onClose);
  });
}

function header(req: Request, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function actorOf(pusher: unknown, payload: Record<string, unknown>): string {
  const login = (payload.sender as { login?: unknown } | undefined)?.login;
  const name =
    typeof pusher === 'string' && LOGIN.test(pusher)
      ? pusher
      : typeof login === 'string' && LOGIN.test(login)
        ? login
        : 'unknown';
  return `github:${name}`;
}

/** A header's value for a message: a missing header is "nothing". */
function show(value: unknown): string {
  return value === undefined ? 'nothing' : describeValue(value);
}
