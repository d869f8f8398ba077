// Live data over server-sent events. An EventSource reconnects by itself and resumes after the last
// id it saw; the browser keeps it open in a background tab (no timers to throttle), so a screen
// does not stall when it loses focus. A stream the server refuses (401: the session ended) closes
// for good, and the app is told.
import { createContext } from 'preact';
import { useContext, useEffect, useRef, useState } from 'preact/hooks';
import type { StatusAnswer } from '../api/wire.js';
import type { EventRecord } from '../common/types.js';
import { API, resume, sessionEnded } from './api.js';

/** Calls `onData` with each message's parsed data, and `onEnd` when the server says the stream is complete. */
export function useEventSource(
  route: string | null,
  onData: (data: unknown) => void,
  onEnd?: () => void,
  onBroken?: () => void,
): void {
  // The latest closures, read when a message comes: a new route is a new stream, a new closure is not.
  const handlers = useRef({ onData, onEnd, onBroken });
  handlers.current = { onData, onEnd, onBroken };
  useEffect(() => {
    if (route === null) return undefined;
    const source = new EventSource(`${API}${route}`);
    source.onmessage = (message: MessageEvent<string>) => handlers.current.onData(JSON.parse(message.data));
    source.addEventListener('end', () => {
      source.close();
      handlers.current.onEnd?.();
    });
    source.onerror = () => {
      if (source.readyState !== EventSource.CLOSED) return;
      // Refused, not cut: find out whether the session is over.
      const broken = (): void => handlers.current.onBroken?.();
      void resume().then((session) => (session === null ? sessionEnded() : broken()), broken);
    };
    return () => source.close();
  }, [route]);
}

/** What the whole app shares: one status stream and one event stream (a browser allows few connections). */
export interface Live {
  status: StatusAnswer | null;
  events: EventRecord[];
}

export const LiveContext = createContext<Live>({ status: null, events: [] });

export const useLive = (): Live => useContext(LiveContext);

/** The status (desired, observed, status), each change as it happens. */
export function useStatusStream(): StatusAnswer | null {
  const [status, setStatus] = useState<StatusAnswer | null>(null);
  useEventSource('/status?sse=1', (data) => setStatus(data as StatusAnswer));
  return status;
}

const KEEP = 500;

/** The event trail: the last events, newest first, growing live. */
export function useEventStream(): EventRecord[] {
  const [events, setEvents] = useState<EventRecord[]>([]);
  useEventSource('/events?sse=1&limit=200', (data) => setEvents((old) => [data as EventRecord, ...old].slice(0, KEEP)));
  return events;
}
