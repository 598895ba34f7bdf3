import type { ConnectionState } from '../transport/connection.ts';
import { useIdentity } from './store-hooks.ts';

export type ConsoleView = 'console' | 'feed' | 'incidents' | 'decisions' | 'audit' | 'settings';

/** The views in the order the navigation offers them; the label is the button's accessible name. */
const VIEWS: ReadonlyArray<{ view: ConsoleView; label: string }> = [
  { view: 'console', label: 'Console' },
  { view: 'feed', label: 'Feed' },
  { view: 'incidents', label: 'Incidents' },
  { view: 'decisions', label: 'Decisions' },
  { view: 'audit', label: 'Audit' },
  { view: 'settings', label: 'Settings' },
];

function connectionLabel(connection: ConnectionState): string {
  switch (connection.phase) {
    case 'open':
      return 'connected';
    case 'connecting':
      return connection.failedAttempts > 0 ? 'unreachable' : 'connecting';
    case 'reconnecting':
      return 'reconnecting';
  }
}

export function Header({ view, onNavigate }: { view: ConsoleView; onNavigate: (view: ConsoleView) => void }) {
  const connection = useIdentity((state) => state.connection);
  const hostname = useIdentity((state) => state.identity?.hostname ?? null);
  const label = connectionLabel(connection);
  return (
    <header className="app-header">
      <div className="brand">
        <span className="brand__mark" aria-hidden="true" />
        <span className="brand__name">Swarm SOC</span>
        {hostname ? <span className="brand__node mono">{hostname}</span> : null}
      </div>
      <nav aria-label="Views" className="views-nav">
        {VIEWS.map((entry) => (
          <button key={entry.view} type="button" className="nav-button" aria-current={view === entry.view ? 'page' : undefined} onClick={() => onNavigate(entry.view)}>
            {entry.label}
          </button>
        ))}
      </nav>
      <div className={`connection-indicator connection-indicator--${connection.phase}`} title="link to the console service">
        <span className="connection-indicator__dot" aria-hidden="true" />
        <span>
          <span className="visually-hidden">Console service: </span>
          {label}
        </span>
      </div>
    </header>
  );
}
