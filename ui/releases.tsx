// Releases, newest first: build, test and smoke results with their durations; stage a tag on a
// color, rebuild a release, run its smoke test again; each release's logs a click away.
import { useState } from 'preact/hooks';
import type { ChangeAnswer } from '../api/wire.js';
import type { Color, ReleaseRecord } from '../common/types.js';
import { useAsk, type ActionSpec } from './actions.js';
import { call } from './api.js';
import { ago, step } from './format.js';
import { useLoad } from './load.js';
import { useMay } from './session.js';

const newestFirst = (a: ReleaseRecord, b: ReleaseRecord): number =>
  (b.taggedAt ?? b.createdAt).localeCompare(a.taggedAt ?? a.createdAt) || b.tag.localeCompare(a.tag);

export function Releases() {
  const list = useLoad(() => call<{ releases: ReleaseRecord[] }>('GET', '/releases?limit=200'));
  const may = useMay('operator');
  const releases = [...(list.data?.releases ?? [])].sort(newestFirst);
  return (
    <div>
      <h1>Releases</h1>
      {may && <StageForm tags={releases.map((r) => r.tag)} />}
      {list.error && <p class="error">{list.error.message}</p>}
      <div class="table">
        <table>
          <thead>
            <tr>
              <th scope="col">Tag</th>
              <th scope="col">Status</th>
              <th scope="col">Build</th>
              <th scope="col">Test</th>
              <th scope="col">Smoke</th>
              <th scope="col">Tagged</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {releases.map((r) => (
              <ReleaseRow key={r.tag} release={r} may={may} />
            ))}
          </tbody>
        </table>
      </div>
      {list.data && releases.length === 0 && <p>No releases yet: stage a tag, or push one (the webhook).</p>}
    </div>
  );
}

function ReleaseRow({ release, may }: { release: ReleaseRecord; may: boolean }) {
  const ask = useAsk();
  const smoke = release.smoke;
  const logs = `#/releases/${encodeURIComponent(release.tag)}/logs`;
  return (
    <tr>
      <th scope="row">{release.tag}</th>
      <td class={`status ${release.status}`}>
        {release.status}
        {release.error && <div class="small">{release.error}</div>}
      </td>
      <td>{step(release.build)}</td>
      <td>{step(release.test)}</td>
      <td>{smoke ? `${smoke.passed ? 'passed' : 'failed'} on ${smoke.color}: ${step(smoke)}` : '—'}</td>
      <td>{ago(release.taggedAt ?? release.createdAt)}</td>
      <td class="row-actions">
        <a href={`${logs}/build`}>Logs</a>
        {may && (
          <>
            <button type="button" class="small" onClick={() => ask(rebuild(release.tag))}>
              Rebuild
            </button>
            <button type="button" class="small" onClick={() => ask(smokeAgain(release.tag))}>
              Re-run smoke
            </button>
          </>
        )}
      </td>
    </tr>
  );
}

const rebuild = (tag: string): ActionSpec => ({
  title: `Rebuild ${tag}`,
  detail: `${tag} is built and tested again at the same commit; its logs start over.`,
  run: async () => {
    const done = await call<{ release: ReleaseRecord }>('POST', `/releases/${encodeURIComponent(tag)}/rebuild`);
    return `${done.release.tag} is ${done.release.status}`;
  },
});

const smokeAgain = (tag: string): ActionSpec => ({
  title: `Re-run smoke of ${tag}`,
  detail: `The smoke gate runs again against the color that runs ${tag}.`,
  run: async () => {
    const done = await call<{ tag: string; color: Color }>('POST', `/releases/${encodeURIComponent(tag)}/smoke`);
    return `smoke test of ${done.tag} against ${done.color} requested`;
  },
});

function StageForm({ tags }: { tags: string[] }) {
  const ask = useAsk();
  const [tag, setTag] = useState('');
  const [color, setColor] = useState<'' | Color>('');
  const submit = (e: Event): void => {
    e.preventDefault();
    const wanted = tag.trim();
    ask({
      title: `Stage ${wanted}`,
      detail: `${wanted} is built, tested and started on ${color || 'the inactive color'}; traffic stays where it is.`,
      run: async () => {
        const done = await call<ChangeAnswer>('POST', '/stage', { json: { tag: wanted, ...(color ? { color } : {}) } });
        return `${wanted} staged on ${done.color} (revision ${done.revision.number})`;
      },
    });
  };
  return (
    <form class="stage" onSubmit={submit} aria-label="Stage a tag">
      <label for="stage-tag">Tag</label>
      <input id="stage-tag" list="known-tags" value={tag} onInput={(e) => setTag(e.currentTarget.value)} required />
      <datalist id="known-tags">
        {tags.map((t) => (
          <option key={t} value={t} />
        ))}
      </datalist>
      <label for="stage-color">Color</label>
      <select id="stage-color" value={color} onChange={(e) => setColor(e.currentTarget.value as '' | Color)}>
        <option value="">the inactive one</option>
        <option value="blue">blue</option>
        <option value="green">green</option>
      </select>
      <button type="submit" class="primary">
        Stage
      </button>
    </form>
  );
}
