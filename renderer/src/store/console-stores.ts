/**
 * All stores of the console, wired to one ConsoleApi. The stores are the only code that talks to
 * the API; components read them with selectors. Pushed events are routed here to the slice they
 * concern, so each slice stays ignorant of the others.
 */
import type { ConsoleApi, ConsoleEvent, ConsoleSnapshot } from '../../../core/console/api.ts';
import { alwaysOpenConnection, type ConnectionSource } from '../transport/connection.ts';
import { toCallErrorView } from './call-outcome.ts';
import { createAuditStore, type AuditStore } from './audit-store.ts';
import { createDecisionsStore, type DecisionsStore } from './decisions-store.ts';
import { createFeedStore, type FeedStore } from './feed-store.ts';
import { createHandshakesStore, type HandshakesStore } from './handshakes-store.ts';
import { createIdentityStore, type IdentityStore } from './identity-store.ts';
import { createIncidentsStore, type IncidentsStore } from './incidents-store.ts';
import { createNotificationsStore, pendingRequestNotification, type NotificationsStoreOptions, type NotificationsStore } from './notifications-store.ts';
import { createPeersStore, type PeersStore } from './peers-store.ts';

export interface ConsoleStores {
  identity: IdentityStore;
  peers: PeersStore;
  handshakes: HandshakesStore;
  notifications: NotificationsStore;
  /** The anomaly feed: loaded when the Feed view first opens, live from then on. */
  feed: FeedStore;
  /** Incidents and their proposals: loaded when the Incidents view first opens, live from then on. */
  incidents: IncidentsStore;
  /** Executors' blocks: loaded when the Decisions view first opens, live from then on. */
  decisions: DecisionsStore;
  /** The console node's audit log: read while the Audit view is open. */
  audit: AuditStore;
  /** Applies one pushed event (exposed for tests; `start` feeds it from the API). */
  applyEvent(event: ConsoleEvent): void;
  /** Subscribes to events and the connection, and loads the first snapshot; returns a stop function. */
  start(): () => void;
  /** Asks the service for a fresh snapshot (the "Retry" of a failed first load). */
  reload(): Promise<void>;
}

export interface ConsoleStoresOptions extends NotificationsStoreOptions {
  /** The link state of the transport; IPC is always open. */
  connection?: ConnectionSource;
  now?: () => Date;
}

export function createConsoleStores(api: ConsoleApi, options: ConsoleStoresOptions = {}): ConsoleStores {
  const now = options.now ?? (() => new Date());
  const connection = options.connection ?? alwaysOpenConnection;
  const identity = createIdentityStore(api, now);
  const peers = createPeersStore(api);
  const notifications = createNotificationsStore(options);
  const handshakes = createHandshakesStore(api, { onPeerApproved: (row) => peers.getState().applyChanges([row], []) });
  const feed = createFeedStore(api, { now: () => now().getTime() });
  const incidents = createIncidentsStore(api);
  const decisions = createDecisionsStore(api);
  const audit = createAuditStore(api);

  let requestsLoaded = false;

  function applyRequests(pending: ConsoleSnapshot['pending'], outgoing: ConsoleSnapshot['outgoing']): void {
    // The first snapshot is what was already waiting when the page opened: the pending list
    // shows it, and a toast per old request would bury anything new. From then on (including a
    // snapshot after a reconnect) a request id not seen before is news.
    const isFirstLoad = !requestsLoaded;
    requestsLoaded = true;
    const arrived = handshakes.getState().replaceRequests(pending, outgoing);
    if (isFirstLoad) return;
    for (const request of arrived) notifications.getState().notify(pendingRequestNotification(request, now()));
  }

  function applySnapshot(snapshot: ConsoleSnapshot): void {
    peers.getState().replaceAll(snapshot.peers);
    applyRequests(snapshot.pending, snapshot.outgoing);
    identity.getState().applyIdentity(snapshot);
  }

  function applyEvent(event: ConsoleEvent): void {
    switch (event.type) {
      case 'snapshot':
        applySnapshot(event.snapshot);
        // Every connection starts with a snapshot: after a reconnect, feed pushes may have been lost.
        feed.getState().connectionRestored();
        incidents.getState().connectionRestored();
        decisions.getState().connectionRestored();
        audit.getState().connectionRestored();
        break;
      case 'identity':
        identity.getState().applyIdentity(event);
        break;
      case 'peers':
        peers.getState().applyChanges(event.upsert, event.remove);
        break;
      case 'requests':
        applyRequests(event.pending, event.outgoing);
        break;
      case 'notification':
        notifications.getState().notify(event.notification);
        break;
      case 'feed':
        feed.getState().applyPush(event);
        break;
      case 'incidents':
        incidents.getState().applyPush(event);
        break;
      case 'decisions':
        decisions.getState().applyPush(event);
        break;
      case 'audit':
        audit.getState().applyAuditEvent();
        break;
      default:
        // A newer service may push event types this page does not know yet: ignore them.
        break;
    }
  }

  async function reload(): Promise<void> {
    try {
      applySnapshot(await api.call('snapshot', {}));
    } catch (error) {
      // Before the first snapshot the page has nothing to show but this error. A lost connection
      // is not one: the banner says so, and the service pushes a snapshot when it is back.
      const view = toCallErrorView(error);
      if (!identity.getState().loaded && view.code !== 'disconnected') identity.getState().setLoadError(view);
    }
  }

  function start(): () => void {
    const stopEvents = api.subscribe(applyEvent);
    identity.getState().setConnection(connection.current());
    const stopConnection = connection.subscribe((state) => identity.getState().setConnection(state));
    void reload();
    return () => {
      stopEvents();
      stopConnection();
    };
  }

  return { identity, peers, handshakes, notifications, feed, incidents, decisions, audit, applyEvent, start, reload };
}
