// `email` targets: SMTP through nodemailer, one connection per message (messages are rare; a pool
// would hold a connection open to a server that may drop it). The subject is the message's title,
// which names the kind and the tag; the body is plain text.
import { readFile } from 'node:fs/promises';
import nodemailer from 'nodemailer';
import type { NotifyMessage } from '../common/notifications.js';
import type { SmtpConfig } from '../config/notify.js';
import { DeliveryError, type Channel, type Delivery } from './channel.js';
import { NotifyConfigError, readSecret } from './secrets.js';
import { plainText } from './text.js';

export interface EmailOptions {
  name: string;
  /** The config key of this target, e.g. `notify[2]`, for errors. */
  key: string;
  smtp: SmtpConfig;
  to: string[];
  from: string;
  timeoutMs: number;
}

export async function emailChannel(options: EmailOptions): Promise<Channel> {
  const { smtp } = options;
  const password = smtp.passwordFile ? await readSecret(`${options.key}.smtp.passwordFile`, smtp.passwordFile) : null;
  const ca = smtp.caFile ? await readCa(`${options.key}.smtp.caFile`, smtp.caFile) : undefined;
  const transportOptions = {
    host: smtp.host,
    port: smtp.port,
    secure: smtp.tls === 'tls',
    requireTLS: smtp.tls === 'starttls',
    ignoreTLS: smtp.tls === 'none',
    auth: smtp.user !== null && password !== null ? { user: smtp.user, pass: password } : undefined,
    tls: ca ? { ca } : undefined,
    connectionTimeout: options.timeoutMs,
    greetingTimeout: options.timeoutMs,
    socketTimeout: options.timeoutMs,
  };
  return {
    name: options.name,
    kind: 'email',
    timeoutMs: options.timeoutMs,
    async send(message: NotifyMessage, delivery: Delivery, signal: AbortSignal): Promise<void> {
      const transport = nodemailer.createTransport(transportOptions);
      // nodemailer takes no AbortSignal: closing the transport ends the connection of a try cut short.
      const abort = (): void => transport.close();
      signal.addEventListener('abort', abort, { once: true });
      try {
        signal.throwIfAborted();
        await transport.sendMail({
          from: options.from,
          to: options.to,
          subject: message.title,
          text: plainText(message),
          headers: { 'X-Hypervisor-Delivery': delivery.id, 'X-Hypervisor-Event': message.kind },
        });
      } catch (err) {
        if (signal.aborted) throw err;
        throw new DeliveryError(`SMTP ${smtp.host}:${smtp.port}: ${(err as Error).message}`, { cause: err });
      } finally {
        signal.removeEventListener('abort', abort);
        transport.close();
      }
    },
    close: async () => undefined,
  };
}

async function readCa(key: string, file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new NotifyConfigError(`${key}: cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
}
