// The app: the login form until there is a session, then the screens, each at its own #/address
// (a link can be shared, the back button works). The status and the event trail stream once for
// every screen. The session ends on logout, on expiry, and when any answer says it has ended.
import { useEffect, useState } from 'preact/hooks';
import { logout, onSessionEnded, resume, type Session } from './api.js';
import { Actions } from './actions.js';
import { Deployments } from './deployments.js';
import { DesiredState } from './desired.js';
import { Events } from './events.js';
import { LiveContext, useEventStream, useStatusStream } from './live.js';
import { Login } from './login.js';
import { Logs } from './logs.js';
import { Overview } from './overview.js';
import { Releases } from './releases.js';
import { mayAct, SessionContext } from './session.js';
import { Traffic } from './traffic.js';
import { Users } from './users.js';

const SCREENS = [
  ['overview', 'Overview'],
  ['releases', 'Releases'],
  ['deployments', 'Deployments'],
  ['events', 'Events'],
  ['traffic', 'Traffic'],
  ['desired', 'Desired state'],
] as const;

export function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  useEffect(() => onSessionEnded(() => setSession(null)), []);
  useEffect(() => {
    resume().then(setSession, () => setSession(null));
  }, []);
  useEffect(() => {
    if (!session?.expiresAt) return undefined;
    // The cookie dies at expiresAt; the screen goes back to the login form then, not at the next click.
    const timer = window.setTimeout(() => setSession(null), Date.parse(session.expiresAt) - Date.now());
    return () => window.clearTimeout(timer);
  }, [session]);
  if (session === undefined) return <p class="loading">Loading the dashboard…</p>;
  if (session === null) return <Login onLogin={setSession} />;
  return (
    <SessionContext.Provider value={session}>
      <Dashboard session={session} onLogout={() => void logout().finally(() => setSession(null))} />
    </SessionContext.Provider>
  );
}

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const changed = (): void => setHash(location.hash);
    window.addEventListener('hashchange', changed);
    return () => window.removeEventListener('hashchange', changed);
  }, []);
  return hash.replace(/^#\/?/, '');
}

function Dashboard({ session, onLogout }: { session: Session; onLogout: () => void }) {
  const status = useStatusStream();
  const events = useEventStream();
  const route = useHash();
  const screen = route.split('/')[0] || 'overview';
  const screens = mayAct(session, 'admin') ? [...SCREENS, ['users', 'Users'] as const] : SCREENS;
  return (
    <LiveContext.Provider value={{ status, events }}>
      <Actions>
        <header class="top">
          <a class="brand" href="#/overview">
            hypervisor
          </a>
          <nav aria-label="Screens">
            {screens.map(([id, name]) => (
              <a key={id} href={`#/${id}`} aria-current={screen === id ? 'page' : undefined}>
                {name}
              </a>
            ))}
          </nav>
          <span class="who">
            {session.username} ({session.roles.join(', ')})
          </span>
          <button type="button" onClick={onLogout}>
            Log out
          </button>
        </header>
        <main>{screenFor(route)}</main>
      </Actions>
    </LiveContext.Provider>
  );
}

function screenFor(route: string) {
  const [screen, ...rest] = route.split('/');
  switch (screen) {
    case 'releases':
      return rest[1] === 'logs' && rest[0] ? <Logs tag={decodeURIComponent(rest[0])} kind={rest[2]} /> : <Releases />;
    case 'deployments':
      return <Deployments />;
    case 'events':
      return <Events />;
    case 'traffic':
      return <Traffic />;
    case 'desired':
      return <DesiredState />;
    case 'users':
      return <Users />;
    default:
      return <Overview />;
  }
}
