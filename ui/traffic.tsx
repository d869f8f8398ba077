// Traffic over the last hour, per color: requests per second, error rate and p99 latency, minute by
// minute as the daemon's proxy measured them (GET /hypervisor/traffic). A daemon that measures
// nothing (or predates the route) gets a plain "no data", not an error.
import uPlot from 'uplot';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { TrafficAnswer, TrafficMinute } from '../api/wire.js';
import type { Color } from '../common/types.js';
import { ApiError, call } from './api.js';

const REFRESH_MS = 15_000;
const STROKE: Record<Color, string> = { blue: '#2563eb', green: '#16a34a' };

type Series = (number | null)[];
interface Chart {
  title: string;
  unit: string;
  value: (m: TrafficMinute) => number | null;
}

const CHARTS: Chart[] = [
  { title: 'Requests per second', unit: 'req/s', value: (m) => m.requests / 60 },
  { title: 'Error rate', unit: '%', value: (m) => (m.requests === 0 ? null : (100 * m.errors) / m.requests) },
  { title: 'p99 latency', unit: 'ms', value: (m) => (m.p99Seconds === null ? null : m.p99Seconds * 1000) },
];

export function Traffic() {
  const [answer, setAnswer] = useState<TrafficAnswer | null>(null);
  const [missing, setMissing] = useState<string | null>(null);
  useEffect(() => {
    const load = (): void =>
      void call<TrafficAnswer>('GET', '/traffic').then(
        (a) => {
          setAnswer(a);
          setMissing(null);
        },
        (err: unknown) => setMissing(err instanceof ApiError ? err.message : String(err)),
      );
    load();
    // The numbers change every minute whether or not anything else happens: no event to wait for.
    const timer = window.setInterval(load, REFRESH_MS);
    return () => window.clearInterval(timer);
  }, []);
  const empty = answer !== null && [...answer.colors.blue, ...answer.colors.green].every((m) => m.requests === 0);
  return (
    <div>
      <h1>Traffic</h1>
      {(missing !== null || empty) && (
        <p class="nodata" role="status">
          No data: {missing ?? 'no requests measured in the last hour'}.
        </p>
      )}
      {answer && !empty && CHARTS.map((chart) => <Plot key={chart.title} chart={chart} answer={answer} />)}
    </div>
  );
}

function Plot({ chart, answer }: { chart: Chart; answer: TrafficAnswer }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!box.current) return undefined;
    const minutes = [...new Set([...answer.colors.blue, ...answer.colors.green].map((m) => m.start))].sort();
    const pick = (color: Color): Series =>
      minutes.map((start) => {
        const m = answer.colors[color].find((x) => x.start === start);
        return m ? chart.value(m) : null;
      });
    const data: uPlot.AlignedData = [minutes.map((s) => Date.parse(s) / 1000), pick('blue'), pick('green')];
    const plot = new uPlot(
      {
        width: Math.max(280, box.current.clientWidth),
        height: 200,
        series: [
          {},
          { label: `blue (${chart.unit})`, stroke: STROKE.blue, spanGaps: false },
          { label: `green (${chart.unit})`, stroke: STROKE.green, spanGaps: false },
        ],
        axes: [{}, { label: chart.unit }],
      },
      data,
      box.current,
    );
    return () => plot.destroy();
  }, [answer, chart]);
  return (
    <section class="chart" aria-label={chart.title}>
      <h2>{chart.title}</h2>
      <div ref={box} />
    </section>
  );
}
