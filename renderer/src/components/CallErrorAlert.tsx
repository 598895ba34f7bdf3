import type { CallErrorView } from '../store/call-outcome.ts';

/** A failed call: what happened and what to do. role=alert so screen readers say it at once. */
export function CallErrorAlert({ error }: { error: CallErrorView | null }) {
  if (!error) return null;
  return (
    <div className="call-error" role="alert">
      <p className="call-error__message">{error.message}</p>
      {error.hint ? <p className="call-error__hint">{error.hint}</p> : null}
    </div>
  );
}
