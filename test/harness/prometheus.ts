// Reads a Prometheus text exposition with a real parser (parse-prometheus-text-format, the
// prom2json shape) and picks single samples out of it by name and labels.
import parsePrometheusTextFormat, { type ParsedFamily } from 'parse-prometheus-text-format';

export class Scrape {
  readonly families: ReadonlyMap<string, ParsedFamily>;

  /** Throws what the parser throws on text that is not the exposition format. */
  constructor(text: string) {
    this.families = new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f]));
  }

  type(name: string): string | undefined {
    return this.families.get(name)?.type;
  }

  /** The value of the sample of `name` whose labels include `labels`; 0 when there is none (never counted). */
  value(name: string, labels: Record<string, string> = {}): number {
    const family = this.families.get(name);
    if (!family) throw new Error(`no metric family ${name} in the scrape`);
    const sample = family.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
    return sample?.value === undefined ? 0 : Number(sample.value);
  }

  /** The histogram's +Inf bucket, i.e. its count, when one label set has samples (the parser merges label sets). */
  histogramCount(name: string): number {
    const buckets = this.families.get(name)?.metrics[0]?.buckets;
    return buckets === undefined ? 0 : Number(buckets['+Inf']);
  }
}
