// The notification schemas of the OpenAPI document: the body a webhook target receives (a
// component no route returns: receivers build against it) and the answer of a test message.
import { NOTIFICATION_KINDS, NOTIFY_TARGET_KINDS } from '../common/notifications.js';

type Schema = Record<string, unknown>;

const str = { type: 'string' };
const nullable = (type: string, description?: string): Schema => ({
  type: [type, 'null'],
  ...(description ? { description } : {}),
});

export const notifySchemas: Record<string, Schema> = {
  NotificationBody: {
    type: 'object',
    description:
      'What a webhook target receives, POSTed as JSON. X-Hypervisor-Signature-256 is sha256=<hex HMAC-SHA256 of ' +
      'the raw body, keyed by the target secret>; the body repeats X-Hypervisor-Delivery (delivery) and ' +
      'X-Hypervisor-Timestamp (timestamp), so the signature covers both: refuse a body whose signature does not ' +
      'match, whose timestamp is more than 5 minutes off, or whose delivery id was seen (retries of one message ' +
      'keep its delivery id).',
    required: ['schema', 'delivery', 'timestamp', 'attempt', 'kind', 'title', 'summary', 'app', 'host', 'command'],
    properties: {
      schema: { const: 1, description: "this body's version" },
      delivery: { ...str, description: 'the delivery id: the same on every try of one message' },
      timestamp: { ...str, description: 'when this try was sent (ISO-8601, UTC)' },
      attempt: { type: 'integer', minimum: 1, maximum: 3 },
      kind: { type: 'string', enum: [...NOTIFICATION_KINDS, 'test'] },
      title: { ...str, description: 'one line naming the kind and the tag (an email subject)' },
      summary: { ...str, description: 'what happened' },
      app: str,
      host: str,
      tag: nullable('string'),
      color: { enum: ['blue', 'green', null] },
      step: nullable('string', 'the step that failed: checkout, build, test or smoke'),
      verdict: nullable('string', "a gate's verdict in words and numbers"),
      measured: { type: ['object', 'null'], additionalProperties: { type: 'number' } },
      answers: {
        type: ['object', 'null'],
        description: 'the problem this message answers (recovered, or release_ready after a failure)',
        properties: { kind: { type: 'string', enum: [...NOTIFICATION_KINDS] }, tag: nullable('string'), time: str },
      },
      log: {
        type: ['object', 'null'],
        description: 'the last lines (at most 20) of the log that tells more',
        properties: { path: str, lines: { type: 'array', items: str, maxItems: 20 } },
      },
      command: { ...str, description: 'the command that shows more, e.g. hyper-cli logs v26.11.27.2 --test' },
      event: {
        type: ['object', 'null'],
        description: 'the event of the trail this message is about (GET /hypervisor/events)',
        properties: { id: { type: 'integer' }, reason: str, time: str },
      },
    },
  },
  NotifyTestAnswer: {
    type: 'object',
    properties: {
      target: str,
      kind: { type: 'string', enum: [...NOTIFY_TARGET_KINDS] },
      outcome: { type: 'string', enum: ['delivered', 'failed'] },
      error: nullable('string', 'why the try failed: an HTTP status and the start of the answer, an SMTP reply'),
      durationMs: { type: 'integer' },
    },
  },
};
