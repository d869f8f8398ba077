// Loading a list for a screen, and again whenever the event trail grows (a build ended, a switch
// was made): every change the daemon makes is an event, so the screen stays live without polling.
import { useEffect, useState } from 'preact/hooks';
import { ApiError } from './api.js';
import { useLive } from './live.js';

export interface Loaded<T> {
  data: T | null;
  error: ApiError | null;
  reload: () => void;
}

/** `key`: what is loaded (a tag, a filter); a new key loads at once. */
export function useLoad<T>(load: () => Promise<T>, key = ''): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [count, setCount] = useState(0);
  const { events } = useLive();
  const latest = events[0]?.id ?? 0;
  useEffect(() => {
    let current = true;
    load().then(
      (value) => {
        if (!current) return;
        setData(value);
        setError(null);
      },
      (err: unknown) => {
        if (current) setError(err instanceof ApiError ? err : new ApiError(0, 'network', String(err)));
      },
    );
    return () => {
      current = false;
    };
    // `load` is a new closure on every render; what it loads is named by key, latest and count.
  }, [key, latest, count]);
  return { data, error, reload: () => setCount((c) => c + 1) };
}
