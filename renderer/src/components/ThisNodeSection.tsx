import { TimeStamp } from './TimeStamp.tsx';
import { useIdentity } from './store-hooks.ts';

/** Who this node is on the overlay, and whether it is reachable through its registry. */
export function ThisNodeSection({ onOpenSettings }: { onOpenSettings: () => void }) {
  const identity = useIdentity((state) => state.identity);
  const status = useIdentity((state) => state.status);
  const statusMessage = useIdentity((state) => state.statusMessage);
  const settings = useIdentity((state) => state.settings);
  const registry = identity?.registry;
  const endpoint = registry?.endpoint ?? settings.registry;

  return (
    <section aria-label="This node" className="panel this-node">
      <header className="panel__header">
        <h2 className="panel__title">This node</h2>
        <span className={`status-pill status-pill--${status}`}>{status}</span>
      </header>

      {status !== 'running' ? (
        <div className={`status-notice status-notice--${status}`}>
          <p>{statusMessage ?? (status === 'unconfigured' ? 'This node has no registry yet.' : 'This node could not start.')}</p>
          <button type="button" className="btn btn--primary" onClick={onOpenSettings}>
            Open settings
          </button>
        </div>
      ) : null}

      <dl className="facts">
        <div className="fact">
          <dt>Hostname</dt>
          <dd className="mono strong">{identity?.hostname ?? (settings.hostname || '—')}</dd>
        </div>
        <div className="fact">
          <dt>Address</dt>
          <dd className="mono">{identity?.address ?? '—'}</dd>
        </div>
        <div className="fact fact--wide">
          <dt>Fingerprint</dt>
          <dd className="mono fingerprint">{identity?.fingerprint ?? '—'}</dd>
        </div>
        <div className="fact">
          <dt>Listen</dt>
          <dd className="mono">{identity?.listen ?? '—'}</dd>
        </div>
        <div className="fact">
          <dt>Registry</dt>
          <dd>
            <span className="mono">{endpoint ?? 'none configured'}</span>{' '}
            {registry ? (
              <span className={registry.connected ? 'state state--good' : 'state state--bad'}>{registry.connected ? 'connected' : 'not connected'}</span>
            ) : (
              <span className="state state--bad">not connected</span>
            )}
            {registry?.lastOkAt ? (
              <span className="fact__detail">
                last answer <TimeStamp iso={registry.lastOkAt} />
              </span>
            ) : null}
            {registry?.lastError ? <span className="fact__detail fact__detail--error">last error: {registry.lastError}</span> : null}
          </dd>
        </div>
        <div className="fact">
          <dt>Started</dt>
          <dd>
            <TimeStamp iso={identity?.startedAt ?? null} />
          </dd>
        </div>
        <div className="fact">
          <dt>Dropped (untrusted)</dt>
          <dd className="mono" title="packets dropped because their sender is not trusted (default deny)">
            {identity ? identity.droppedUntrusted.toLocaleString('en-US') : '—'}
          </dd>
        </div>
      </dl>
    </section>
  );
}
