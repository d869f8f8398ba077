// The desired state: the document as YAML, its revision history (source, author, time), the
// difference between any two revisions, and (operators) an edit that shows its diff before it is
// applied, guarded by If-Match against lost updates.
import { useState } from 'preact/hooks';
import type { ChangeAnswer, DiffAnswer } from '../api/wire.js';
import type { Color, DesiredDoc, Revision } from '../common/types.js';
import { useAsk } from './actions.js';
import { ApiError, call } from './api.js';
import { time } from './format.js';
import { useLoad } from './load.js';
import { useMay } from './session.js';

const COLORS: Color[] = ['blue', 'green'];

/** The document as hyper-cli's `desired get` writes it. */
export function yamlOf(doc: DesiredDoc): string {
  const colors = COLORS.map((c) => `  ${c}: { tag: ${doc.colors[c].tag ?? 'null'} }`).join('\n');
  return `active: ${doc.active ?? 'null'}\ncolors:\n${colors}\npaused: ${doc.paused}\n`;
}

/** The document on one line, for the history table. */
const summary = (doc: DesiredDoc): string =>
  `active ${doc.active ?? 'none'} · ${COLORS.map((c) => `${c} ${doc.colors[c].tag ?? 'none'}`).join(' · ')}` +
  (doc.paused ? ' · paused' : '');

/** One line per difference, in the API's words (`green: v1 -> v2`). */
export function changesBetween(a: DesiredDoc, b: DesiredDoc): string[] {
  const lines: string[] = [];
  const add = (field: string, before: unknown, after: unknown): void => {
    if (before !== after) lines.push(`${field}: ${String(before ?? 'none')} -> ${String(after ?? 'none')}`);
  };
  for (const c of COLORS) add(c, a.colors[c].tag, b.colors[c].tag);
  add('active', a.active, b.active);
  add('paused', a.paused, b.paused);
  return lines;
}

export function DesiredState() {
  const history = useLoad(() => call<{ revisions: Revision[] }>('GET', '/desired/history?limit=100'));
  const revisions = [...(history.data?.revisions ?? [])].sort((a, b) => b.number - a.number);
  const latest = revisions[0];
  return (
    <div class="desired">
      <h1>Desired state</h1>
      {history.error && <p class="error">{history.error.message}</p>}
      {latest ? <Current revision={latest} /> : history.data && <p>No desired state yet.</p>}
      {revisions.length > 0 && <History revisions={revisions} />}
    </div>
  );
}

function Current({ revision }: { revision: Revision }) {
  const may = useMay('operator');
  return (
    <section aria-labelledby="current">
      <h2 id="current">
        Revision {revision.number} ({revision.source}, by {revision.author}, {time(revision.time)})
      </h2>
      <pre class="yaml">{yamlOf(revision.doc)}</pre>
      {may && <Editor revision={revision} />}
    </section>
  );
}

function Editor({ revision }: { revision: Revision }) {
  const ask = useAsk();
  const [text, setText] = useState(yamlOf(revision.doc));
  const [diff, setDiff] = useState<string | null>(null);
  const preview = async (): Promise<void> => {
    try {
      const answer = await call<DiffAnswer>('POST', '/desired/diff', { yaml: text });
      setDiff(answer.differs ? answer.changes.join('\n') : 'no change');
    } catch (err) {
      setDiff(err instanceof ApiError ? `refused: ${err.message}` : String(err));
    }
  };
  const apply = (): void =>
    ask({
      title: 'Apply the desired state',
      detail: `The document replaces revision ${revision.number}; the loop converges on it.`,
      run: async () => {
        const done = await call<ChangeAnswer>('PUT', '/desired', { yaml: text });
        return done.changed ? `revision ${done.revision.number} written` : 'no change';
      },
    });
  return (
    <details class="editor">
      <summary>Edit</summary>
      <label for="desired-yaml">Desired state (YAML)</label>
      <textarea id="desired-yaml" rows={8} value={text} onInput={(e) => setText(e.currentTarget.value)} />
      <div class="buttons">
        <button type="button" onClick={() => void preview()}>
          Show the diff
        </button>
        <button type="button" class="primary" onClick={apply}>
          Apply
        </button>
      </div>
      {diff !== null && <pre class="diff">{diff}</pre>}
    </details>
  );
}

function History({ revisions }: { revisions: Revision[] }) {
  const [from, setFrom] = useState(revisions[1]?.number ?? revisions[0]!.number);
  const [to, setTo] = useState(revisions[0]!.number);
  const a = revisions.find((r) => r.number === from);
  const b = revisions.find((r) => r.number === to);
  const lines = a && b ? changesBetween(a.doc, b.doc) : [];
  const pick = (id: string, label: string, value: number, set: (n: number) => void) => (
    <>
      <label for={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => set(Number(e.currentTarget.value))}>
        {revisions.map((r) => (
          <option key={r.number} value={r.number}>
            {r.number}
          </option>
        ))}
      </select>
    </>
  );
  return (
    <section aria-labelledby="history">
      <h2 id="history">History</h2>
      <div class="filters">
        {pick('diff-from', 'Compare revision', from, setFrom)}
        {pick('diff-to', 'with revision', to, setTo)}
      </div>
      <pre class="diff" aria-label="Difference">
        {lines.length === 0 ? 'no difference' : lines.join('\n')}
      </pre>
      <div class="table">
        <table>
          <thead>
            <tr>
              <th scope="col">Revision</th>
              <th scope="col">Source</th>
              <th scope="col">Author</th>
              <th scope="col">Time</th>
              <th scope="col">Document</th>
            </tr>
          </thead>
          <tbody>
            {revisions.map((r) => (
              <tr key={r.number}>
                <th scope="row">{r.number}</th>
                <td>{r.source}</td>
                <td>{r.author}</td>
                <td>{time(r.time)}</td>
                <td class="mono">{summary(r.doc)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
