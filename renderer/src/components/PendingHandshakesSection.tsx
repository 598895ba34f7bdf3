import { memo, useState } from 'react';
import type { PendingRequestView } from '../../../core/console/api.ts';
import { selectDecisionActivity } from '../store/handshakes-store.ts';
import { CapabilityList } from './CapabilityList.tsx';
import { ApproveDialog, RejectDialog } from './DecisionDialogs.tsx';
import { TimeStamp } from './TimeStamp.tsx';
import { useHandshakes } from './store-hooks.ts';

type OpenDecision = { kind: 'approve' | 'reject'; requestId: string } | null;

/** Trust requests waiting for this analyst: verify the fingerprint out of band, then decide. */
export function PendingHandshakesSection() {
  const pending = useHandshakes((state) => state.pending);
  const [openDecision, setOpenDecision] = useState<OpenDecision>(null);
  const decidedRequest = openDecision ? pending.find((request) => request.id === openDecision.requestId) : undefined;
  const close = () => setOpenDecision(null);

  return (
    <section aria-label="Pending handshakes" className="panel pending">
      <header className="panel__header">
        <h2 className="panel__title">
          Pending handshakes ({pending.length})
        </h2>
      </header>
      {pending.length === 0 ? (
        <p className="empty">No pending handshakes. Agents that ask this node for trust appear here; you can also ask a peer below.</p>
      ) : (
        <ul className="request-list" role="list">
          {pending.map((request) => (
            <PendingRequestItem key={request.id} request={request} onDecide={setOpenDecision} />
          ))}
        </ul>
      )}
      {/* A request decided elsewhere (swarmctl, another console tab) disappears, and its dialog with it. */}
      {decidedRequest && openDecision?.kind === 'approve' ? <ApproveDialog request={decidedRequest} onClose={close} /> : null}
      {decidedRequest && openDecision?.kind === 'reject' ? <RejectDialog request={decidedRequest} onClose={close} /> : null}
    </section>
  );
}

interface PendingRequestItemProps {
  request: PendingRequestView;
  /** Stable (a state setter), so unchanged items skip re-rendering. */
  onDecide: (decision: OpenDecision) => void;
}

const PendingRequestItem = memo(function PendingRequestItem({ request, onDecide }: PendingRequestItemProps) {
  const activity = useHandshakes(selectDecisionActivity(request.id));
  return (
    <li className="request-card" data-request-id={request.id} data-peer-key={request.key} aria-busy={activity.busy || undefined}>
      <div className="request-card__head">
        <span className="hostname">{request.hostname}</span>
        <span className="trust-badge trust-badge--pending-incoming">pending-incoming</span>
        <span className="request-card__time">
          received <TimeStamp iso={request.receivedAt} />
        </span>
      </div>
      <dl className="request-card__facts">
        <div>
          <dt>Address</dt>
          <dd className="mono">{request.address}</dd>
        </div>
        <div>
          <dt>Fingerprint</dt>
          <dd className="mono fingerprint">{request.fingerprint}</dd>
        </div>
        <div>
          <dt>Wants</dt>
          <dd>
            <CapabilityList capabilities={request.wantCaps} none="basic trust only" />
          </dd>
        </div>
        <div>
          <dt>Offers</dt>
          <dd>
            <CapabilityList capabilities={request.offerCaps} />
          </dd>
        </div>
      </dl>
      <blockquote className="justification">
        {request.justification.trim() ? request.justification : <span className="muted">No justification given.</span>}
      </blockquote>
      <div className="request-card__actions">
        <button type="button" className="btn btn--approve" aria-label={`Approve ${request.hostname}`} onClick={() => onDecide({ kind: 'approve', requestId: request.id })} disabled={activity.busy}>
          Approve
        </button>
        <button type="button" className="btn btn--danger-outline" aria-label={`Reject ${request.hostname}`} onClick={() => onDecide({ kind: 'reject', requestId: request.id })} disabled={activity.busy}>
          Reject
        </button>
      </div>
    </li>
  );
});
