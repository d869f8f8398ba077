// The request-path metrics, read from the proxy's meter (TrafficReadings) when Prometheus scrapes:
// the proxy only adds to preallocated arrays per request (proxy/meter.ts), and these prom-client metrics copy
// the totals out at scrape time. prom-client's own labelled inc/observe cost ~3.6 us a request on
// this kind of host, the meter a fraction of that: the difference is the 5% throughput budget.
import {
  Counter,
  Gauge,
  Histogram,
  type MetricObjectWithValues,
  type MetricType,
  type MetricValueWithName,
  type Registry,
} from 'prom-client';
import { COLORS, type Color } from '../common/types.js';
import { LATENCY_BOUNDS } from '../common/latency.js';
import { FAILURE_REASONS, type TrafficReadings } from '../common/traffic.js';
import type { TargetsInFlight } from './ports.js';

export interface TrafficSources {
  /** The proxy's meter. */
  meter: TrafficReadings;
  /** Requests (and websockets) in flight per target, the draining ones included: the proxy's router. */
  router: TargetsInFlight;
}

const DURATION = 'hypervisor_http_request_duration_seconds';
const DURATION_HELP = 'Time from a request reaching the proxy to the end of its answer, by the color that answered';

export function registerTrafficMetrics(registry: Registry, { meter, router }: TrafficSources): void {
  new Counter({
    name: 'hypervisor_http_requests_total',
    help: 'Requests the proxy answered, by the answering color, status code (499: the client left first) and method',
    labelNames: ['color', 'code', 'method'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const color of COLORS)
        for (const { method, code, count } of meter.answers(color))
          this.inc({ color, code: String(code), method }, count);
    },
  });
  new Counter({
    name: 'hypervisor_upstream_failures_total',
    help: 'Requests a color failed before answering: refused, reset, timeout or bad_response (an answer not passed on)',
    labelNames: ['color', 'reason'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const color of COLORS) {
        const failures = meter.failures(color);
        for (const reason of FAILURE_REASONS) this.inc({ color, reason }, failures[reason]);
      }
    },
  });
  new Gauge({
    name: 'hypervisor_http_in_flight_requests',
    help: 'Requests (and websockets) running on a color now, including on a color that is draining',
    labelNames: ['color'] as const,
    registers: [registry],
    collect() {
      const snapshot = router.snapshot();
      const targets = [snapshot.active, snapshot.preview, ...snapshot.draining];
      for (const color of COLORS) {
        const running = targets.reduce((sum, t) => sum + (t?.color === color ? t.inFlight : 0), 0);
        this.set({ color }, running);
      }
    },
  });
  registry.registerMetric(new MeterHistogram(meter));
}

/** prom-client's typings declare MetricType a numeric enum; at run time (and in the text format) it is the word. */
const HISTOGRAM = 'histogram' as unknown as MetricType;

type HistogramValues = MetricObjectWithValues<MetricValueWithName<'color' | 'le'>>;

/**
 * hypervisor_http_request_duration_seconds{color}: the meter's bucket counts as a Prometheus
 * histogram. prom-client has no way to set a histogram's buckets, so this one builds its values
 * from the meter; the registry formats them like any other histogram's.
 */
class MeterHistogram extends Histogram<'color' | 'le'> {
  readonly #meter: TrafficReadings;

  constructor(meter: TrafficReadings) {
    super({
      name: DURATION,
      help: DURATION_HELP,
      labelNames: ['color'],
      buckets: [...LATENCY_BOUNDS],
      registers: [],
    });
    this.#meter = meter;
  }

  override async get(): Promise<HistogramValues> {
    return this.getForPromString();
  }

  /** What the registry formats (prom-client prefers it to get() for the text format). */
  async getForPromString(): Promise<HistogramValues> {
    // A color that never answered has no series yet, as a labelled histogram that was never observed.
    const values = COLORS.flatMap((color) => this.#series(color));
    return {
      name: DURATION,
      help: DURATION_HELP,
      type: HISTOGRAM,
      aggregator: 'sum',
      values,
      collect: () => undefined,
    };
  }

  #series(color: Color): MetricValueWithName<'color' | 'le'>[] {
    const { counts, sum, count } = this.#meter.latency(color);
    if (count === 0) return [];
    let cumulative = 0;
    const buckets = LATENCY_BOUNDS.map((le, i) => {
      cumulative += counts[i] ?? 0;
      return { metricName: `${DURATION}_bucket`, labels: { color, le }, value: cumulative };
    });
    return [
      ...buckets,
      { metricName: `${DURATION}_bucket`, labels: { color, le: '+Inf' }, value: count },
      { metricName: `${DURATION}_sum`, labels: { color }, value: sum },
      { metricName: `${DURATION}_count`, labels: { color }, value: count },
    ];
  }
}
