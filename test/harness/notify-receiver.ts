// Real peers for notification tests: an HTTP receiver (node:http) that records every request and
// verifies webhook signatures the way the README tells receivers to, and an SMTP server
// (smtp-server) whose mail is parsed with mailparser. Each closes what it opened.
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  raw: string;
  /** The status this request was answered with. */
  status: number;
  at: number;
}

/** How the receiver answers the n-th request (from 0) to `path`: a status, after an optional stall. */
export type Answering = (path: string, n: number) => { status: number; stallMs?: number };

export interface Receiver {
  url: string;
  received: Received[];
  /** Requests to `path`, in order. */
  to(path: string): Received[];
  close(): Promise<void>;
}

export async function startReceiver(answering: Answering = () => ({ status: 200 })): Promise<Receiver> {
  const received: Received[] = [];
  const counts = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = req.url ?? '/';
      const n = counts.get(path) ?? 0;
      counts.set(path, n + 1);
      const { status, stallMs } = answering(path, n);
      const raw = Buffer.concat(chunks).toString('utf8');
      const answer = (): void => {
        received.push({ path, headers: req.headers, raw, status, at: Date.now() });
        res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : `refused with ${status}`);
      };
      if (!stallMs) return answer();
      // A receiver that is slow to answer; the client's own deadline is what ends the wait.
      const timer = setTimeout(() => {
        timers.delete(timer);
        answer();
      }, stallMs);
      timers.add(timer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    to: (path) => received.filter((r) => r.path === path),
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface Verified {
  ok: boolean;
  why: string;
  body: Record<string, unknown> | null;
}

/**
 * What a receiver does (README, "Notifications"): HMAC-SHA256 of the raw body with the shared secret
 * equals X-Hypervisor-Signature-256; the body's delivery and timestamp equal the headers; the
 * timestamp is recent; a delivery id seen before is a replay.
 */
export function verifyDelivery(secret: string, r: Received, seen: Set<string>, maxAgeMs = 300_000): Verified {
  const header = String(r.headers['x-hypervisor-signature-256'] ?? '');
  const match = /^sha256=([0-9a-f]{64})$/.exec(header);
  if (!match) return { ok: false, why: `bad signature header ${JSON.stringify(header)}`, body: null };
  const expected = createHmac('sha256', secret).update(r.raw).digest();
  if (!timingSafeEqual(expected, Buffer.from(match[1]!, 'hex')))
    return { ok: false, why: 'signature mismatch', body: null };
  const body = JSON.parse(r.raw) as Record<string, unknown>;
  const delivery = String(r.headers['x-hypervisor-delivery'] ?? '');
  const timestamp = String(r.headers['x-hypervisor-timestamp'] ?? '');
  if (body.delivery !== delivery || body.timestamp !== timestamp)
    return { ok: false, why: 'headers differ from the signed body', body };
  if (Math.abs(r.at - Date.parse(timestamp)) > maxAgeMs)
    return { ok: false, why: `stale timestamp ${timestamp}`, body };
  if (seen.has(delivery)) return { ok: false, why: `replayed delivery ${delivery}`, body };
  seen.add(delivery);
  return { ok: true, why: 'ok', body };
}

export interface SmtpSink {
  port: number;
  mails: ParsedMail[];
  /** AUTH attempts: user names with whether the password matched. */
  logins: Array<{ user: string; ok: boolean }>;
  close(): Promise<void>;
}

/** A real SMTP server on loopback, plain (no TLS), taking AUTH PLAIN/LOGIN with one user. */
export async function startSmtpSink(user: string, password: string): Promise<SmtpSink> {
  const mails: ParsedMail[] = [];
  const logins: SmtpSink['logins'] = [];
  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    logger: false,
    onAuth(auth, _session, callback) {
      const ok = auth.username === user && auth.password === password;
      logins.push({ user: auth.username ?? '', ok });
      callback(ok ? null : new Error('invalid login'), ok ? { user: auth.username } : undefined);
    },
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((mail) => {
          mails.push(mail);
          callback();
        })
        .catch((err: Error) => callback(err));
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return { port, mails, logins, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
