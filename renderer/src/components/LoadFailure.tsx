import type { CallErrorView } from '../store/call-outcome.ts';
import { CallErrorAlert } from './CallErrorAlert.tsx';

/** A view's first read failed: what happened, what to do, and Retry. */
export function LoadFailure({ error, onRetry }: { error: CallErrorView | null; onRetry: () => void }) {
  return (
    <div className="feed__state">
      <CallErrorAlert error={error} />
      <button type="button" className="btn btn--primary" onClick={onRetry}>
        Retry
      </button>
    </div>
  );
}
