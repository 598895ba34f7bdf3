import { CallErrorAlert } from './CallErrorAlert.tsx';
import { useIdentity, useReloadSnapshot } from './store-hooks.ts';

/** Until the first snapshot arrives: empty lists would claim "no peers", which is not known yet. */
export function LoadingView() {
  const loadError = useIdentity((state) => state.loadError);
  const reload = useReloadSnapshot();
  return (
    <div className="loading-view">
      {loadError ? (
        <>
          <h1 className="view-title">The console could not load</h1>
          <CallErrorAlert error={loadError} />
          <button type="button" className="btn btn--primary" onClick={() => void reload()}>
            Retry
          </button>
        </>
      ) : (
        <p className="loading-view__text" role="status">
          <span className="spinner" aria-hidden="true" /> Loading this node’s state…
        </p>
      )}
    </div>
  );
}
