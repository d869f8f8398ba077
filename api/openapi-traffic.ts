// The OpenAPI paths and schemas of what the proxy measured: the Prometheus metrics and the
// per-color traffic history of the last hour (api/routes/traffic.ts).
type Schema = Record<string, unknown>;

const int = { type: 'integer', minimum: 0 };
const NOT_MEASURED = {
  description: 'not_measured: this daemon does not measure its traffic',
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
};

/** Each is an operation's summary, answers and extra errors; openapi.ts adds the role and the common errors. */
export const trafficOperations = {
  metrics: {
    summary:
      'Prometheus metrics (text format 0.0.4): requests, latency, in-flight requests and upstream failures per ' +
      'color, readiness, the active color, reconcile passes, build steps, deployments and gate results',
    ok: {
      200: {
        description: 'the metrics',
        content: { 'text/plain; version=0.0.4; charset=utf-8': { schema: { type: 'string' } } },
      },
    },
    errors: { 503: NOT_MEASURED },
  },
  traffic: {
    summary:
      "each color's traffic over the last hour, minute by minute: requests, 5xx answers and connection " +
      'failures, p99 latency',
    ok: {
      200: {
        description: 'the history',
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Traffic' } } },
      },
    },
    errors: { 503: NOT_MEASURED },
  },
};

const minute: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['start', 'requests', 'errors', 'p99Seconds'],
  properties: {
    start: { type: 'string', description: 'ISO-8601 start of the minute' },
    requests: { ...int, description: 'requests sent to the color: answered, or failed before an answer' },
    errors: { ...int, description: '5xx answers and connection failures' },
    p99Seconds: { type: ['number', 'null'], description: "99th percentile latency of the minute's answers" },
  },
};

export const trafficSchemas: Record<string, Schema> = {
  Traffic: {
    type: 'object',
    additionalProperties: false,
    required: ['minutes', 'colors'],
    properties: {
      minutes: { type: 'integer', description: 'how many minutes each list holds (60)' },
      colors: {
        type: 'object',
        additionalProperties: false,
        required: ['blue', 'green'],
        description: 'oldest minute first, the current (partial) minute last',
        properties: { blue: { type: 'array', items: minute }, green: { type: 'array', items: minute } },
      },
    },
  },
};
