/**
 * How components reach the stores: one context holds the stores created for this page, and a
 * hook per slice takes a selector, so a component re-renders only when what it selected changes.
 */
import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import { useShallow } from 'zustand/react/shallow';
import type { ConsoleStores } from '../store/console-stores.ts';
import type { AuditState } from '../store/audit-store.ts';
import type { DecisionsState } from '../store/decisions-store.ts';
import type { FeedState } from '../store/feed-store.ts';
import type { HandshakesState } from '../store/handshakes-store.ts';
import type { IdentityState } from '../store/identity-store.ts';
import type { IncidentsState } from '../store/incidents-store.ts';
import type { NotificationsState } from '../store/notifications-store.ts';
import type { PeersState } from '../store/peers-store.ts';

export const ConsoleStoresContext = createContext<ConsoleStores | null>(null);

function useConsoleStores(): ConsoleStores {
  const stores = useContext(ConsoleStoresContext);
  if (!stores) throw new Error('console components must be rendered inside <ConsoleStoresContext value={stores}>');
  return stores;
}

export function useIdentity<T>(selector: (state: IdentityState) => T): T {
  return useStore(useConsoleStores().identity, selector);
}

export function usePeers<T>(selector: (state: PeersState) => T): T {
  return useStore(useConsoleStores().peers, selector);
}

/** For selectors that build a new array each time (a filtered list): re-renders only when its items change. */
export function usePeersShallow<T>(selector: (state: PeersState) => T): T {
  return useStore(useConsoleStores().peers, useShallow(selector));
}

export function useHandshakes<T>(selector: (state: HandshakesState) => T): T {
  return useStore(useConsoleStores().handshakes, selector);
}

export function useNotifications<T>(selector: (state: NotificationsState) => T): T {
  return useStore(useConsoleStores().notifications, selector);
}

export function useFeed<T>(selector: (state: FeedState) => T): T {
  return useStore(useConsoleStores().feed, selector);
}

export function useIncidents<T>(selector: (state: IncidentsState) => T): T {
  return useStore(useConsoleStores().incidents, selector);
}

export function useDecisions<T>(selector: (state: DecisionsState) => T): T {
  return useStore(useConsoleStores().decisions, selector);
}

export function useAudit<T>(selector: (state: AuditState) => T): T {
  return useStore(useConsoleStores().audit, selector);
}

/** The first-load retry; a stable function. */
export function useReloadSnapshot(): () => Promise<void> {
  return useConsoleStores().reload;
}
