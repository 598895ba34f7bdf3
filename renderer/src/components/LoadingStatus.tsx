import type { ReactNode } from 'react';

/** A spinner and what is being read, as a status line screen readers announce. */
export function LoadingStatus({ children, className }: { children: ReactNode; className?: string }) {
  return (
    <p className={className ? `loading-view__text ${className}` : 'loading-view__text'} role="status">
      <span className="spinner" aria-hidden="true" /> {children}
    </p>
  );
}
