/**
 * Toasts: notifications pushed by the service and those the console raises itself (a new trust
 * request). Hiding after a delay is the toast component's job, because it pauses while the
 * analyst hovers or focuses a toast.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { ConsoleNotification, PendingRequestView } from '../../../core/console/api.ts';

/**
 * Enough to see a burst at a glance without covering the console; older toasts drop off (the
 * lists themselves still hold everything).
 */
export const MAX_VISIBLE_TOASTS = 5;

export interface NotificationsState {
  toasts: readonly ConsoleNotification[];
  /** Shows a notification, unless one with its id, or its title, is already on screen (see the body). */
  notify(notification: ConsoleNotification): void;
  dismiss(notificationId: string): void;
}

export type NotificationsStore = StoreApi<NotificationsState>;

export interface NotificationsStoreOptions {
  /**
   * Also shows a notification outside the page (the browser's Notification API). Injected so the
   * store has no DOM use; the page decides when that is allowed.
   */
  showSystemNotification?: (notification: ConsoleNotification) => void;
}

export function createNotificationsStore(options: NotificationsStoreOptions = {}): NotificationsStore {
  return createStore<NotificationsState>()((set, get) => ({
    toasts: [],

    notify(notification) {
      const toasts = get().toasts;
      if (toasts.some((toast) => toast.id === notification.id)) return;
      // The same news can come twice: the service announces a new trust request, and so does this
      // page when it sees the request appear. While one is on screen, keep the more detailed of
      // the two in its place (whichever came first) and do not alert the system twice.
      const sameNews = toasts.findIndex((toast) => toast.title === notification.title);
      if (sameNews >= 0) {
        if (notification.body.length > (toasts[sameNews]?.body.length ?? 0)) set({ toasts: toasts.map((toast, index) => (index === sameNews ? notification : toast)) });
        return;
      }
      set({ toasts: [...toasts, notification].slice(-MAX_VISIBLE_TOASTS) });
      options.showSystemNotification?.(notification);
    },

    dismiss(notificationId) {
      const toasts = get().toasts.filter((toast) => toast.id !== notificationId);
      if (toasts.length !== get().toasts.length) set({ toasts });
    },
  }));
}

/** The notification for a trust request that just arrived; its title is the one the service uses for the same news. */
export function pendingRequestNotification(request: PendingRequestView, at: Date): ConsoleNotification {
  const why = request.justification.trim() ? `: “${request.justification.trim()}”` : ' and gave no justification';
  const wants = request.wantCaps.length > 0 ? request.wantCaps.join(', ') : 'basic trust only';
  return {
    id: `handshake-request:${request.id}`,
    level: 'warning',
    title: `Trust request from ${request.hostname}`,
    body: `${request.address} (fingerprint ${request.fingerprint}) asks for ${wants}${why}. Verify the fingerprint before you approve.`,
    at: at.toISOString(),
  };
}
