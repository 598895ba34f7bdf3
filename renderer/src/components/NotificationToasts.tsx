/**
 * Toasts in a polite live region (announced without interrupting). Each hides itself after
 * TOAST_VISIBLE_MS, but not while the pointer is on it or focus is in it, so it cannot vanish
 * while someone is reading it or about to press its button.
 */
import { memo, useEffect, useState } from 'react';
import type { ConsoleNotification } from '../../../core/console/api.ts';
import { TimeStamp } from './TimeStamp.tsx';
import { useNotifications } from './store-hooks.ts';

export const TOAST_VISIBLE_MS = 8_000;

export function NotificationToasts() {
  const toasts = useNotifications((state) => state.toasts);
  const dismiss = useNotifications((state) => state.dismiss);
  return (
    <div className="toasts" role="status" aria-live="polite" aria-label="Notifications">
      {toasts.map((toast) => (
        <Toast key={toast.id} notification={toast} onDismiss={dismiss} />
      ))}
    </div>
  );
}

const Toast = memo(function Toast({ notification, onDismiss }: { notification: ConsoleNotification; onDismiss: (id: string) => void }) {
  const [hovered, setHovered] = useState(false);
  const [focused, setFocused] = useState(false);
  const paused = hovered || focused;

  useEffect(() => {
    if (paused) return;
    const timer = setTimeout(() => onDismiss(notification.id), TOAST_VISIBLE_MS);
    return () => clearTimeout(timer);
  }, [paused, notification.id, onDismiss]);

  return (
    <div
      className={`toast toast--${notification.level}`}
      data-notification-id={notification.id}
      onMouseEnter={() => setHovered(true)}
      onMouseLeave={() => setHovered(false)}
      onFocus={() => setFocused(true)}
      onBlur={(event) => {
        if (!event.currentTarget.contains(event.relatedTarget as Node | null)) setFocused(false);
      }}
    >
      <div className="toast__body">
        <p className="toast__title">{notification.title}</p>
        <p className="toast__text">{notification.body}</p>
        <p className="toast__time">
          <TimeStamp iso={notification.at} />
        </p>
      </div>
      <button type="button" className="toast__dismiss" aria-label={`Dismiss notification: ${notification.title}`} onClick={() => onDismiss(notification.id)}>
        ×
      </button>
    </div>
  );
});
