/**
 * Every peer this node knows, trusted or not. Built for a thousand rows: the table subscribes to
 * the list of visible keys only, and each row to its own PeerRow, which the store keeps as the
 * same object while it does not change — so an update re-renders just the rows it touched.
 */
import { memo, useId, useState } from 'react';
import { peerDisplayName, selectPeer, selectPeerCount, selectVisiblePeerKeys } from '../store/peers-store.ts';
import { CapabilityList } from './CapabilityList.tsx';
import { RevokeDialog } from './RevokeDialog.tsx';
import { ScrollTable, type TableColumn } from './ScrollTable.tsx';
import { TimeStamp } from './TimeStamp.tsx';
import { usePeers, usePeersShallow } from './store-hooks.ts';
import { useRowDialog } from './use-row-dialog.ts';

const PEER_COLUMNS: readonly (string | TableColumn)[] = [
  'Hostname',
  'Address',
  'Trust',
  'Capabilities',
  'Status',
  'Path',
  { label: 'RTT', className: 'numeric' },
  { label: 'Actions', visuallyHidden: true },
];

export function PeersSection() {
  const [filter, setFilter] = useState('');
  const revokeDialog = useRowDialog();
  const total = usePeers(selectPeerCount);
  // selectVisiblePeerKeys is rebuilt per render, and the shallow hook compares its result by items.
  const visibleKeys = usePeersShallow(selectVisiblePeerKeys(filter));
  const filterId = useId();

  return (
    <section aria-label="Peers" className="panel peers">
      <header className="panel__header">
        <h2 className="panel__title">Peers ({total})</h2>
        {total > 0 ? (
          <div className="filter">
            <label htmlFor={filterId}>Filter peers</label>
            <input
              id={filterId}
              className="input input--compact"
              type="search"
              value={filter}
              onChange={(event) => setFilter(event.target.value)}
              placeholder="hostname, address, fingerprint, trust"
              autoComplete="off"
              spellCheck={false}
            />
          </div>
        ) : null}
      </header>
      {total === 0 ? (
        <p className="empty">No peers yet. Approve a pending handshake or request trust from a peer.</p>
      ) : (
        <>
          {filter.trim() !== '' ? (
            <p className="filter-summary" role="status">
              {visibleKeys.length} of {total} peers match “{filter.trim()}”
            </p>
          ) : null}
          <ScrollTable label="Peers" className="peer-table" columns={PEER_COLUMNS}>
            {visibleKeys.map((key) => (
              <PeerTableRow key={key} peerKey={key} onRevoke={revokeDialog.open} />
            ))}
          </ScrollTable>
        </>
      )}
      {revokeDialog.openKey ? <RevokeDialog peerKey={revokeDialog.openKey} onClose={revokeDialog.close} /> : null}
    </section>
  );
}

interface PeerTableRowProps {
  peerKey: string;
  /** Stable (useRowDialog's open), so memo can skip rows whose peer did not change. */
  onRevoke: (peerKey: string) => void;
}

const PeerTableRow = memo(function PeerTableRow({ peerKey, onRevoke }: PeerTableRowProps) {
  const peer = usePeers(selectPeer(peerKey));
  if (!peer) return null;
  const hostname = peerDisplayName(peer);
  return (
    <tr data-peer-key={peer.key} className={`peer-row peer-row--${peer.trust}`}>
      <th scope="row" className="hostname-cell">
        {hostname}
      </th>
      <td>
        <span className="mono">{peer.address || '—'}</span>
        <span className="cell-detail mono fingerprint" title="fingerprint">
          {peer.fingerprint}
        </span>
      </td>
      {/* Only the trust state in this cell's text: it is what an analyst scans the column for. */}
      <td title={peer.since ? `${peer.trust} since ${new Date(peer.since).toString()}` : undefined}>
        <span className={`trust-badge trust-badge--${peer.trust}`}>{peer.trust}</span>
      </td>
      <td>
        <div className="cap-pair">
          <span className="cap-pair__label">granted</span>
          <CapabilityList capabilities={peer.capabilities} />
        </div>
        <div className="cap-pair">
          <span className="cap-pair__label">received</span>
          <CapabilityList capabilities={peer.capabilitiesReceived} />
        </div>
      </td>
      <td>
        <span className={peer.online ? 'online-state online-state--online' : 'online-state online-state--offline'}>{peer.online ? 'online' : 'offline'}</span>
        <span className="cell-detail">
          last seen <TimeStamp iso={peer.lastSeen} missing="never" />
        </span>

      </td>
      <td title={peer.path === 'relay' ? 'no direct path through the NATs: end-to-end encrypted packets go through the registry relay' : undefined}>
        {peer.path === null ? '—' : <span className={`path-badge path-badge--${peer.path}`}>{peer.path}</span>}
      </td>
      <td className="numeric mono">{peer.rttMs == null ? '—' : `${peer.rttMs.toFixed(peer.rttMs < 10 ? 1 : 0)} ms`}</td>
      <td className="actions-cell">
        {peer.trust === 'trusted' ? (
          <button type="button" className="btn btn--small btn--danger-outline" aria-label={`Revoke ${hostname}`} onClick={() => onRevoke(peer.key)}>
            Revoke
          </button>
        ) : null}
      </td>
    </tr>
  );
});
