// Signed GitHub deliveries for tests and the bench: real payloads (harness/fixtures/github-payloads)
// with the ref, repository and SHA a test needs, signed over the exact bytes sent, and posted over
// a real socket.
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { signGithubBody } from '../api/github-signature.js';

export const WEBHOOK_PATH = '/hypervisor/webhooks/github';
export const TEST_SECRET = 'a webhook secret only tests know';

export interface Delivery {
  headers: Record<string, string>;
  body: Buffer;
}

export interface Answer {
  status: number;
  json: Record<string, unknown> & { error?: { code: string; message: string } };
  headers: http.IncomingHttpHeaders;
  ms: number;
}

function payloadDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'harness', 'fixtures', 'github-payloads');
    if (existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('harness/fixtures/github-payloads not found');
    dir = parent;
  }
}

/** A payload from harness/fixtures/github-payloads, e.g. `ping-payload.json`. */
export function payload(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(payloadDir(), name), 'utf8')) as Record<string, unknown>;
}

function withRepository(body: Record<string, unknown>, repository: string): Record<string, unknown> {
  return { ...body, repository: { ...(body.repository as object), full_name: repository } };
}

/** A push that creates `refs/tags/<tag>` at `sha` (GitHub's new-branch push, made a tag push). */
export function tagPush(
  tag: string,
  sha: string | null,
  repository: string,
  pusher = 'octocat',
): Record<string, unknown> {
  const base = payload('push-with-new-branch.payload.json');
  const head = base.head_commit as Record<string, unknown>;
  return withRepository(
    {
      ...base,
      ref: `refs/tags/${tag}`,
      after: sha ?? '0'.repeat(40),
      created: true,
      deleted: false,
      base_ref: null,
      head_commit: sha === null ? null : { ...head, id: sha },
      pusher: { name: pusher, email: `${pusher}@example.invalid` },
    },
    repository,
  );
}

export function tagCreate(tag: string, repository: string): Record<string, unknown> {
  return withRepository({ ...payload('create-payload.json'), ref: tag, ref_type: 'tag' }, repository);
}

export function fixture(name: string, repository: string): Record<string, unknown> {
  return withRepository(payload(name), repository);
}

/** A delivery GitHub would send: headers and a body signed with `secret`. */
export function signed(
  secret: string,
  event: string,
  body: Record<string, unknown> | string,
  deliveryId: string = randomUUID(),
): Delivery {
  const bytes = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  return {
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/test',
      'x-github-event': event,
      'x-github-delivery': deliveryId,
      'x-hub-signature-256': signGithubBody(secret, bytes),
    },
    body: bytes,
  };
}

export function post(baseUrl: string, delivery: Delivery, timeoutMs = 10_000, agent?: http.Agent): Promise<Answer> {
  const url = new URL(WEBHOOK_PATH, baseUrl);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const headers = { ...delivery.headers, 'content-length': String(delivery.body.length) };
    const req = http.request(
      url,
      { method: 'POST', headers, timeout: timeoutMs, ...(agent ? { agent } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: Answer['json'] = {};
          try {
            json = JSON.parse(text) as Answer['json'];
          } catch {
            json = { raw: text };
          }
          resolve({ status: res.statusCode ?? 0, json, headers: res.headers, ms: performance.now() - started });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`webhook: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(delivery.body);
  });
}
