import type { ConnectionState } from '../transport/connection.ts';
import { useIdentity } from './store-hooks.ts';

export type ConsoleView = 'console' | 'feed' | 'settings';

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
        <button type="button" className="nav-button" aria-current={view === 'console' ? 'page' : undefined} onClick={() => onNavigate('console')}>
          Console
        </button>
        <button type="button" className="nav-button" aria-current={view === 'feed' ? 'page' : undefined} onClick={() => onNavigate('feed')}>
          Feed
        </button>
        <button type="button" className="nav-button" aria-current={view === 'settings' ? 'page' : undefined} onClick={() => onNavigate('settings')}>
          Settings
        </button>
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
