// A release's logs (build, test, smoke): the whole log, then live while its step runs; copy it or
// download it. The stream resumes where it broke (its ids are byte offsets), so a tab in the
// background or a dropped connection loses nothing.
import { useEffect, useRef, useState } from 'preact/hooks';
import { useEventSource } from './live.js';

const KINDS = ['build', 'test', 'smoke'] as const;
type Kind = (typeof KINDS)[number];

export function Logs({ tag, kind: rawKind }: { tag: string; kind: string | undefined }) {
  const kind: Kind = KINDS.find((k) => k === rawKind) ?? 'build';
  const [text, setText] = useState('');
  const [state, setState] = useState<'following' | 'complete' | 'missing'>('following');
  const [attempt, setAttempt] = useState(0);
  const [stick, setStick] = useState(true);
  const pre = useRef<HTMLPreElement>(null);
  const route = `/releases/${encodeURIComponent(tag)}/logs/${kind}?sse=1`;
  useEffect(() => {
    setText('');
    setState('following');
  }, [route, attempt]);
  useEventSource(
    state === 'following' ? `${route}&attempt=${attempt}` : null,
    (data) => setText((old) => old + String(data)),
    () => setState('complete'),
    () => setState('missing'),
  );
  useEffect(() => {
    if (stick && pre.current) pre.current.scrollTop = pre.current.scrollHeight;
  }, [text, stick]);
  const copy = (): void => void navigator.clipboard.writeText(text);
  const download = (): void => {
    const link = document.createElement('a');
    link.href = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
    link.download = `${tag}-${kind}.log`;
    link.click();
    URL.revokeObjectURL(link.href);
  };
  return (
    <div class="logs">
      <h1>
        {tag}: {kind} log
      </h1>
      <nav aria-label="Logs" class="tabs">
        {KINDS.map((k) => (
          <a
            key={k}
            href={`#/releases/${encodeURIComponent(tag)}/logs/${k}`}
            aria-current={k === kind ? 'page' : undefined}
          >
            {k}
          </a>
        ))}
      </nav>
      <div class="buttons">
        <span role="status">
          {state === 'following' ? 'following live…' : state === 'complete' ? 'complete' : `no ${kind} log (yet)`}
        </span>
        <label>
          <input type="checkbox" checked={stick} onChange={(e) => setStick(e.currentTarget.checked)} /> Keep the end in
          view
        </label>
        <button type="button" onClick={copy} disabled={text === ''}>
          Copy
        </button>
        <button type="button" onClick={download} disabled={text === ''}>
          Download
        </button>
        {state !== 'following' && (
          <button type="button" onClick={() => setAttempt((n) => n + 1)}>
            Load again
          </button>
        )}
      </div>
      <pre ref={pre} class="log" tabIndex={0} aria-label={`${kind} log`}>
        {text}
      </pre>
      <p>
        <a href="#/releases">Back to the releases</a>
      </p>
    </div>
  );
}
