// Every action goes through one confirmation dialog (a native <dialog>: modal, Escape cancels,
// focus comes back). Once confirmed, the dialog closes and the Activity panel shows the answer and
// then, live, the events that followed it: what the loop did about the request.
import { createContext, type ComponentChildren } from 'preact';
import { useContext, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api.js';
import { useLive } from './live.js';

export interface ActionSpec {
  /** The dialog's title and the activity's name, e.g. `Switch to green`. */
  title: string;
  /** What will happen, in a sentence. */
  detail: string;
  /** Runs the action; its answer in words. */
  run: () => Promise<string>;
}

interface Activity {
  title: string;
  state: 'running' | 'done' | 'failed';
  message: string;
  /** Events after this id belong to the activity. */
  afterId: number;
}

const AskContext = createContext<(spec: ActionSpec) => void>(() => undefined);

/** Asks for confirmation, then runs the action and shows its progress. */
export const useAsk = (): ((spec: ActionSpec) => void) => useContext(AskContext);

export function Actions({ children }: { children: ComponentChildren }) {
  const [pending, setPending] = useState<ActionSpec | null>(null);
  const [activity, setActivity] = useState<Activity | null>(null);
  const { events } = useLive();
  const confirm = async (spec: ActionSpec): Promise<void> => {
    setPending(null);
    const afterId = events[0]?.id ?? 0;
    setActivity({ title: spec.title, state: 'running', message: 'sent…', afterId });
    try {
      setActivity({ title: spec.title, state: 'done', message: await spec.run(), afterId });
    } catch (err) {
      const message = err instanceof ApiError ? `${err.message} (${err.code})` : String(err);
      setActivity({ title: spec.title, state: 'failed', message, afterId });
    }
  };
  return (
    <AskContext.Provider value={setPending}>
      {children}
      <ActivityPanel activity={activity} onClose={() => setActivity(null)} />
      {pending && (
        <ConfirmDialog spec={pending} onConfirm={() => void confirm(pending)} onCancel={() => setPending(null)} />
      )}
    </AskContext.Provider>
  );
}

function ConfirmDialog(props: { spec: ActionSpec; onConfirm: () => void; onCancel: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    dialog.current?.showModal();
  }, []);
  return (
    <dialog ref={dialog} aria-labelledby="confirm-title" onCancel={props.onCancel} class="confirm">
      <h2 id="confirm-title">{props.spec.title}?</h2>
      <p>{props.spec.detail}</p>
      <div class="buttons">
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
        <button type="button" class="primary" onClick={props.onConfirm} autofocus>
          Confirm
        </button>
      </div>
    </dialog>
  );
}

function ActivityPanel({ activity, onClose }: { activity: Activity | null; onClose: () => void }) {
  const { events } = useLive();
  if (activity === null) return null;
  const following = events.filter((e) => e.id > activity.afterId).slice(0, 8);
  return (
    <aside class={`activity ${activity.state}`} aria-label="Activity" aria-live="polite">
      <header>
        <span>
          <strong>{activity.title}</strong>: {activity.state}
        </span>
        <button type="button" class="small" onClick={onClose} aria-label="Close activity">
          ×
        </button>
      </header>
      <p class="message">{activity.message}</p>
      <ul class="trail" aria-label="What followed, newest first">
        {following.map((e) => (
          <li key={e.id}>
            <span class="reason">{e.reason}</span> {e.message}
          </li>
        ))}
      </ul>
    </aside>
  );
}
