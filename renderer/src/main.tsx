/**
 * Entry point: picks the transport (Electron preload or WebSocket), creates the stores on it and
 * renders the console. Everything the page shows comes from the stores.
 */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import type { ConsoleNotification } from '../../core/console/api.ts';
import { App } from './components/App.tsx';
import { MissingTokenPage } from './components/MissingTokenPage.tsx';
import { ConsoleStoresContext } from './components/store-hooks.ts';
import { createConsoleStores } from './store/console-stores.ts';
import { selectConsoleTransport } from './transport/select-transport.ts';
import './styles.css';

/**
 * The system notification for a toast, only when the analyst already allowed notifications for
 * this origin (we never prompt: a permission prompt on load is noise) and only while the tab is
 * hidden, because a visible tab already shows the toast.
 */
function showSystemNotification(notification: ConsoleNotification): void {
  if (typeof Notification === 'undefined' || Notification.permission !== 'granted') return;
  if (document.visibilityState !== 'hidden') return;
  try {
    new Notification(notification.title, { body: notification.body, tag: notification.id });
  } catch {
    // Some contexts (e.g. Android Chrome) allow only service-worker notifications; the toast is enough.
  }
}

const container = document.getElementById('root');
if (!container) throw new Error('index.html has no #root element');
const root = createRoot(container);
const selection = selectConsoleTransport();

if (selection.kind === 'missing-token') {
  root.render(
    <StrictMode>
      <MissingTokenPage />
    </StrictMode>,
  );
} else {
  const stores = createConsoleStores(selection.transport.api, { connection: selection.transport.connection, showSystemNotification });
  stores.start();
  root.render(
    <StrictMode>
      <ConsoleStoresContext value={stores}>
        <App />
      </ConsoleStoresContext>
    </StrictMode>,
  );
}
