// The deployment ledger: what served public traffic, from when to when, made so by whom, the gates'
// verdicts, and why it ended. Roll back to what served before in one click (and one confirmation).
import type { ChangeAnswer } from '../api/wire.js';
import type { Deployment } from '../common/types.js';
import { useAsk } from './actions.js';
import { call } from './api.js';
import { time } from './format.js';
import { useLoad } from './load.js';
import { useMay } from './session.js';

export function Deployments() {
  const ledger = useLoad(() => call<{ deployments: Deployment[] }>('GET', '/deployments?limit=200'));
  const may = useMay('operator');
  const ask = useAsk();
  const rows = ledger.data?.deployments ?? [];
  return (
    <div>
      <h1>Deployments</h1>
      {may && (
        <button
          type="button"
          onClick={() =>
            ask({
              title: 'Roll back',
              detail: 'Traffic goes back to the deployment that served before the current one.',
              run: async () => {
                const back = (await call<ChangeAnswer>('POST', '/rollback')).rollback;
                return back ? `traffic goes back to ${back.to} (${back.tag}) from ${back.from}` : 'rolled back';
              },
            })
          }
        >
          Roll back
        </button>
      )}
      {ledger.error && <p class="error">{ledger.error.message}</p>}
      <div class="table">
        <table>
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">Color</th>
              <th scope="col">Tag</th>
              <th scope="col">Served</th>
              <th scope="col">By</th>
              <th scope="col">Gates</th>
              <th scope="col">Verdict</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((d) => (
              <tr key={d.id} class={d.endedAt === null ? 'current' : undefined}>
                <td>{d.id}</td>
                <td class={`swatch ${d.color}`}>{d.color}</td>
                <th scope="row">{d.tag}</th>
                <td>
                  {time(d.startedAt)} → {d.endedAt ? `${time(d.endedAt)} (${d.endReason})` : 'now'}
                </td>
                <td>
                  {d.switchedBy} ({d.source}, rev {d.revision})
                </td>
                <td>
                  {d.gates.length === 0
                    ? '—'
                    : d.gates.map((g) => (
                        <div key={g.name} class={`gate ${g.result}`}>
                          {g.name}: {g.result} — {g.verdict}
                        </div>
                      ))}
                </td>
                <td>{d.verdict ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {ledger.data && rows.length === 0 && <p>Nothing has served public traffic yet.</p>}
    </div>
  );
}
