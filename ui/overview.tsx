// Overview: both colors side by side (phase, tags, version, health, unit, traffic share), which one
// serves, what the loop waits for, and what is wrong. Live: it follows the status stream.
import type { ChangeAnswer, StatusAnswer } from '../api/wire.js';
import type { ColorReport } from '../common/status.js';
import type { Color, Deployment } from '../common/types.js';
import { useAsk } from './actions.js';
import { call } from './api.js';
import { ago, time } from './format.js';
import { useLive } from './live.js';
import { useLoad } from './load.js';
import { useMay } from './session.js';

const COLORS: Color[] = ['blue', 'green'];
const other = (color: Color): Color => (color === 'blue' ? 'green' : 'blue');

export function Overview() {
  const { status } = useLive();
  const ledger = useLoad(() => call<{ deployments: Deployment[] }>('GET', '/deployments?limit=20'));
  if (status === null) return <p class="loading">Waiting for the status…</p>;
  const serving = ledger.data?.deployments ?? [];
  return (
    <div class="overview">
      <h1>Overview</h1>
      <Loop answer={status} />
      <div class="colors">
        {COLORS.map((color) => (
          <ColorCard
            key={color}
            color={color}
            answer={status}
            since={serving.find((d) => d.color === color && d.endedAt === null)?.startedAt ?? null}
          />
        ))}
      </div>
      <Problems answer={status} />
    </div>
  );
}

function Loop({ answer }: { answer: StatusAnswer }) {
  const { status, revision } = answer;
  const may = useMay('operator');
  const ask = useAsk();
  const pauseVerb = status.paused ? 'Resume' : 'Pause';
  return (
    <section class="loop" aria-label="The loop">
      <p>
        Traffic goes to <strong>{status.active ?? 'no color'}</strong>
        {status.paused && <span class="badge warn">paused</span>}
      </p>
      <p class="waiting">{status.waiting ? `Waiting: ${status.waiting}` : 'Nothing to wait for: all is as desired.'}</p>
      <p class="small">
        Desired revision {revision?.number ?? '—'} (by {revision?.author ?? '—'}, {ago(revision?.time)}); last pass{' '}
        {ago(status.lastReconcileAt)} on revision {status.observedRevision ?? '—'}
        {status.builds.length > 0 && `; building ${status.builds.join(', ')}`}
      </p>
      {may && (
        <div class="buttons">
          <button
            type="button"
            onClick={() =>
              ask({
                title: 'Roll back',
                detail: 'Traffic goes back to the deployment that served before the current one.',
                run: async () => {
                  const done = await call<ChangeAnswer>('POST', '/rollback');
                  const back = done.rollback;
                  return back ? `traffic goes back to ${back.to} (${back.tag}) from ${back.from}` : 'rolled back';
                },
              })
            }
          >
            Roll back
          </button>
          <button
            type="button"
            onClick={() =>
              ask({
                title: `${pauseVerb} the loop`,
                detail: status.paused
                  ? 'The loop acts again on the desired state.'
                  : 'The loop keeps observing and reporting, and changes nothing until resumed.',
                run: async () => {
                  const done = await call<ChangeAnswer>('POST', status.paused ? '/resume' : '/pause');
                  return `revision ${done.revision.number} written`;
                },
              })
            }
          >
            {pauseVerb}
          </button>
        </div>
      )}
    </section>
  );
}

function ColorCard({ color, answer, since }: { color: Color; answer: StatusAnswer; since: string | null }) {
  const report: ColorReport | undefined = answer.status.colors?.[color];
  const active = answer.status.active === color;
  const may = useMay('operator');
  const ask = useAsk();
  const switchable = report?.phase === 'Ready' && !active && report.runningTag !== null;
  return (
    <section class={`color ${color}${active ? ' active' : ''}`} aria-labelledby={`color-${color}`}>
      <h2 id={`color-${color}`}>{color}</h2>
      {active && <span class="badge ok">active</span>}
      {answer.status.preview === color && <span class="badge">preview</span>}
      {report ? <Facts report={report} share={shareOf(answer, color)} since={since} /> : <p>Not observed yet.</p>}
      {may && switchable && (
        <button
          type="button"
          class="primary"
          onClick={() =>
            ask({
              title: `Switch to ${color}`,
              detail: `Public traffic moves to ${color} (${report.runningTag}); ${other(color)} drains.`,
              run: async () => {
                const done = await call<ChangeAnswer>('POST', '/switch', { json: { to: color } });
                return `traffic goes to ${done.active ?? color}${done.waiting ? `; waiting: ${done.waiting}` : ''}`;
              },
            })
          }
        >
          Switch to {color}
        </button>
      )}
    </section>
  );
}

/**
 * The per cent of public clients the color gets now: the status's weights, which a canary step or a
 * failover moves; without them (an older daemon answering), all of it to the active color.
 */
function shareOf(answer: StatusAnswer, color: Color): number {
  const weights = answer.status.weights;
  if (weights) return weights[color];
  return answer.status.active === color ? 100 : 0;
}

function Facts({ report, share, since }: { report: ColorReport; share: number; since: string | null }) {
  const { unit, health } = report;
  return (
    <dl>
      <dt>Phase</dt>
      <dd class={`phase ${report.phase}`}>{report.phase}</dd>
      <dt>Tag</dt>
      <dd>
        {report.runningTag ?? '—'}
        {report.desiredTag !== report.runningTag && ` (desired: ${report.desiredTag ?? 'none'})`}
      </dd>
      <dt>Version</dt>
      <dd>{health?.version ?? '—'}</dd>
      <dt>Health</dt>
      <dd>{health === null ? '—' : health.ready ? 'ready' : `not ready: ${health.reason}`}</dd>
      <dt>Unit</dt>
      <dd>
        {unit.activeState}/{unit.subState}
        {unit.nRestarts > 0 && `, ${unit.nRestarts} restarts`}, port {report.port}
      </dd>
      <dt>Serving since</dt>
      <dd>{since ? `${time(since)} (${ago(since).replace(' ago', '')})` : '—'}</dd>
      <dt>Traffic share</dt>
      <dd>{share}%</dd>
      <dt>Message</dt>
      <dd>{report.message || '—'}</dd>
    </dl>
  );
}

function Problems({ answer }: { answer: StatusAnswer }) {
  const { status } = answer;
  const problems = [
    ...status.conditions
      .filter((c) => c.status === 'False' && c.type !== 'Reconciling')
      .map((c) => `${c.type}: ${c.message}`),
    ...(status.lastPass?.actions ?? []).flatMap((a) => (a.result === 'failed' ? [`${a.kind} failed: ${a.error}`] : [])),
    ...COLORS.flatMap((c) => {
      const report = status.colors?.[c];
      return report && ['Failed', 'Degraded'].includes(report.phase)
        ? [`${c} is ${report.phase}: ${report.message}`]
        : [];
    }),
  ];
  return (
    <section class="problems" aria-labelledby="problems">
      <h2 id="problems">Problems</h2>
      {problems.length === 0 ? (
        <p>None.</p>
      ) : (
        <ul>
          {problems.map((p) => (
            <li key={p}>{p}</li>
          ))}
        </ul>
      )}
    </section>
  );
}
