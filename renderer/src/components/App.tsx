import { useState } from 'react';
import { AuditView } from './AuditView.tsx';
import { ConnectionBanner } from './ConnectionBanner.tsx';
import { DecisionsView } from './DecisionsView.tsx';
import { FeedView } from './FeedView.tsx';
import { Header, type ConsoleView } from './Header.tsx';
import { IncidentsView } from './IncidentsView.tsx';
import { LoadingView } from './LoadingView.tsx';
import { MAIN_CONTENT_ID } from './ModalDialog.tsx';
import { NotificationToasts } from './NotificationToasts.tsx';
import { OutgoingRequestsSection } from './OutgoingRequestsSection.tsx';
import { PeersSection } from './PeersSection.tsx';
import { PendingHandshakesSection } from './PendingHandshakesSection.tsx';
import { RequestTrustForm } from './RequestTrustForm.tsx';
import { SettingsView } from './SettingsView.tsx';
import { ThisNodeSection } from './ThisNodeSection.tsx';
import { useIdentity } from './store-hooks.ts';

export function App() {
  const [view, setView] = useState<ConsoleView>('console');
  const [settingsFromShortcut, setSettingsFromShortcut] = useState(false);
  const loaded = useIdentity((state) => state.loaded);

  const navigate = (next: ConsoleView) => {
    setSettingsFromShortcut(false);
    setView(next);
  };
  const openSettings = () => {
    setSettingsFromShortcut(true);
    setView('settings');
  };

  return (
    <div className="app">
      <a className="skip-link" href={`#${MAIN_CONTENT_ID}`}>
        Skip to content
      </a>
      <Header view={view} onNavigate={navigate} />
      <ConnectionBanner />
      <main id={MAIN_CONTENT_ID} tabIndex={-1} className="app-main">
        {!loaded ? (
          <LoadingView />
        ) : view === 'settings' ? (
          <SettingsView focusHeading={settingsFromShortcut} />
        ) : view === 'feed' ? (
          <FeedView />
        ) : view === 'incidents' ? (
          <IncidentsView />
        ) : view === 'decisions' ? (
          <DecisionsView />
        ) : view === 'audit' ? (
          <AuditView />
        ) : (
          <>
            <h1 className="visually-hidden">Console</h1>
            <div className="console-grid">
              <div className="console-grid__node">
                <ThisNodeSection onOpenSettings={openSettings} />
              </div>
              <div className="console-grid__pending">
                <PendingHandshakesSection />
              </div>
              <div className="console-grid__aside">
                <RequestTrustForm />
                <OutgoingRequestsSection />
              </div>
              <div className="console-grid__peers">
                <PeersSection />
              </div>
            </div>
          </>
        )}
      </main>
      <NotificationToasts />
    </div>
  );
}
