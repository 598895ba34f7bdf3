import type { OutgoingRequestView } from '../../../core/console/api.ts';
import { TimeStamp } from './TimeStamp.tsx';
import { useHandshakes } from './store-hooks.ts';

function statusText(request: OutgoingRequestView): string {
  switch (request.status) {
    case 'rejected':
      return `rejected: ${request.reason?.trim() || 'no reason given'}`;
    case 'sending':
      return 'sending (not acknowledged yet, retrying)';
    case 'pending':
      return 'pending (waiting for their operator)';
    case 'approved':
      return 'approved';
  }
}

/** Requests for trust this node sent, and what became of them. */
export function OutgoingRequestsSection() {
  const outgoing = useHandshakes((state) => state.outgoing);
  return (
    <section aria-label="Outgoing requests" className="panel outgoing">
      <header className="panel__header">
        <h2 className="panel__title">Outgoing requests ({outgoing.length})</h2>
      </header>
      {outgoing.length === 0 ? (
        <p className="empty">No outgoing requests. Ask a peer for trust with the form above.</p>
      ) : (
        <ul className="outgoing-list" role="list">
          {outgoing.map((request) => (
            <li key={request.id} className={`outgoing-item outgoing-item--${request.status}`} data-request-id={request.id} data-peer-key={request.key}>
              <div className="outgoing-item__head">
                <span className="hostname">{request.hostname || request.address}</span>
                <span className={`outgoing-status outgoing-status--${request.status}`}>{statusText(request)}</span>
              </div>
              <div className="outgoing-item__meta">
                <span className="mono">{request.address}</span>
                <span>
                  sent <TimeStamp iso={request.sentAt} />
                </span>
                {request.decidedAt ? (
                  <span>
                    decided <TimeStamp iso={request.decidedAt} />
                  </span>
                ) : null}
              </div>
              {request.justification.trim() ? <p className="outgoing-item__justification">“{request.justification}”</p> : null}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
