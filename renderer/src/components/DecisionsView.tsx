/**
 * Decisions: the blocks executors applied for this console, each counting down to its expiry
 * live (one shared clock for the page, not a timer per row), with Revoke to lift one now; and,
 * apart from them, the blocks that ended (expired, revoked, refused, failed, superseded) and
 * unblock requests. Opening the view loads it; from then on `decisions` pushes keep it current.
 */
import { memo, useCallback, useEffect, useState, type FormEvent } from 'react';
import type { DecisionRow } from '../../../core/console/api.ts';
import { formatTtl } from '../format/duration.ts';
import { selectDecision, selectRevokeActivity } from '../store/decisions-store.ts';
import { CallErrorAlert } from './CallErrorAlert.tsx';
import { FeedTime } from './FeedTime.tsx';
import { ModalDialog } from './ModalDialog.tsx';
import { ReasonField, reasonFits } from './ReasonField.tsx';
import { RemainingTime } from './RemainingTime.tsx';
import { StatusBadge } from './StatusBadge.tsx';
import { useDecisions } from './store-hooks.ts';

/** Ended rows in the DOM at most: the newest; a console that ran for months keeps thousands. */
const ENDED_ROWS_SHOWN = 200;

export function DecisionsView() {
  const activate = useDecisions((state) => state.activate);
  useEffect(() => activate(), [activate]);
  const phase = useDecisions((state) => state.phase);
  const error = useDecisions((state) => state.error);
  const refresh = useDecisions((state) => state.refresh);

  return (
    <>
      <h1 className="visually-hidden">Decisions</h1>
      {phase === 'idle' || phase === 'loading' ? (
        <section aria-label="Active decisions" className="panel">
          <p className="loading-view__text feed__state" role="status">
            <span className="spinner" aria-hidden="true" /> Loading decisions…
          </p>
        </section>
      ) : phase === 'error' ? (
        <section aria-label="Active decisions" className="panel">
          <div className="feed__state">
            <CallErrorAlert error={error} />
            <button type="button" className="btn btn--primary" onClick={() => void refresh()}>
              Retry
            </button>
          </div>
        </section>
      ) : (
        <div className="decisions">
          <CallErrorAlert error={error} />
          <ActiveDecisions />
          <EndedDecisions />
        </div>
      )}
    </>
  );
}

function ActiveDecisions() {
  const keys = useDecisions((state) => state.activeKeys);
  const [revoking, setRevoking] = useState<string | null>(null);
  const closeRevoke = useCallback(() => setRevoking(null), []);
  return (
    <section aria-label="Active decisions" className="panel">
      <header className="panel__header">
        <h2 className="panel__title">Active decisions ({keys.length.toLocaleString('en-US')})</h2>
      </header>
      {keys.length === 0 ? (
        <p className="empty">No block is in force. Approved blocks appear here with the time they have left, until they expire or you revoke them.</p>
      ) : (
        <div className="table-scroll">
          <table aria-label="Active decisions" className="peer-table decision-table">
            <thead>
              <tr>
                <th scope="col">Block</th>
                <th scope="col">Executor</th>
                <th scope="col">State</th>
                <th scope="col">Remaining</th>
                <th scope="col">Requested by</th>
                <th scope="col">Incident</th>
                <th scope="col">Applied</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.map((key) => (
                <ActiveDecisionRow key={key} decisionKey={key} onRevoke={setRevoking} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {revoking ? <RevokeDecisionDialog decisionKey={revoking} onClose={closeRevoke} /> : null}
    </section>
  );
}

interface ActiveDecisionRowProps {
  decisionKey: string;
  /** Stable (a state setter), so memo skips rows that did not change. */
  onRevoke: (key: string) => void;
}

const ActiveDecisionRow = memo(function ActiveDecisionRow({ decisionKey, onRevoke }: ActiveDecisionRowProps) {
  const row = useDecisions(selectDecision(decisionKey));
  const activity = useDecisions(selectRevokeActivity(decisionKey));
  if (!row) return null;
  return (
    <tr data-decision-key={decisionKey} aria-busy={activity.busy || undefined}>
      <th scope="row" className="mono">
        {row.cidr}
      </th>
      <td>{row.executor}</td>
      <td>
        <StatusBadge status={row.state} />
      </td>
      <td>
        <RemainingTime expiresAt={row.expiresAt} />
        <span className="cell-detail">
          of {formatTtl(row.ttlSeconds)}
          {row.expiresAt !== null ? (
            <>
              {' '}
              · until <FeedTime ms={row.expiresAt} />
            </>
          ) : null}
        </span>
      </td>
      <td>{row.requestedBy || '—'}</td>
      <td className="mono">{row.incidentId ?? '—'}</td>
      <td>{row.appliedAt !== null ? <FeedTime ms={row.appliedAt} /> : <span className="muted">not yet</span>}</td>
      <td className="actions-cell">
        <button type="button" className="btn btn--small btn--danger-outline" aria-label={`Revoke ${row.cidr} on ${row.executor}`} onClick={() => onRevoke(decisionKey)}>
          Revoke
        </button>
      </td>
    </tr>
  );
});

function EndedDecisions() {
  const keys = useDecisions((state) => state.endedKeys);
  const shown = keys.length > ENDED_ROWS_SHOWN ? keys.slice(0, ENDED_ROWS_SHOWN) : keys;
  return (
    <section aria-label="Ended decisions" className="panel">
      <header className="panel__header">
        <h2 className="panel__title">Ended decisions ({keys.length.toLocaleString('en-US')})</h2>
        {shown.length < keys.length ? <span className="muted">the newest {shown.length.toLocaleString('en-US')} shown</span> : null}
      </header>
      {keys.length === 0 ? (
        <p className="empty">No block has ended yet. Expired, revoked, refused and failed blocks are listed here.</p>
      ) : (
        <div className="table-scroll">
          <table aria-label="Ended decisions" className="peer-table decision-table">
            <thead>
              <tr>
                <th scope="col">Block</th>
                <th scope="col">Executor</th>
                <th scope="col">Action</th>
                <th scope="col">State</th>
                <th scope="col">Detail</th>
                <th scope="col">Requested by</th>
                <th scope="col">Incident</th>
                <th scope="col">Changed</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((key) => (
                <EndedDecisionRow key={key} decisionKey={key} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

const EndedDecisionRow = memo(function EndedDecisionRow({ decisionKey }: { decisionKey: string }) {
  const row = useDecisions(selectDecision(decisionKey));
  if (!row) return null;
  return (
    <tr data-decision-key={decisionKey}>
      <th scope="row" className="mono">
        {row.cidr}
      </th>
      <td>{row.executor}</td>
      <td>{row.action}</td>
      <td>
        <StatusBadge status={row.state} />
      </td>
      <td>
        {[row.code, row.detail].filter(Boolean).join(': ') || '—'}
        {row.ttlSeconds > 0 && row.action === 'block' ? <span className="cell-detail">TTL {formatTtl(row.ttlSeconds)}</span> : null}
      </td>
      <td>{row.requestedBy || '—'}</td>
      <td className="mono">{row.incidentId ?? '—'}</td>
      <td>
        <FeedTime ms={row.updatedAt} />
      </td>
    </tr>
  );
});

/** Lifts one block now: the console signs an unblock request to the executor that holds it. */
function RevokeDecisionDialog({ decisionKey, onClose }: { decisionKey: string; onClose: () => void }) {
  const row: DecisionRow | undefined = useDecisions(selectDecision(decisionKey));
  const revoke = useDecisions((state) => state.revoke);
  const clearOutcome = useDecisions((state) => state.clearRevokeOutcome);
  const activity = useDecisions(selectRevokeActivity(decisionKey));
  const [reason, setReason] = useState('');
  if (!row) return null;

  const close = () => {
    if (!activity.busy) clearOutcome(decisionKey);
    onClose();
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (activity.busy || !reasonFits(reason)) return;
    if (await revoke(decisionKey, reason.trim())) onClose();
  };

  return (
    <ModalDialog title={`Revoke block of ${row.cidr}`} onClose={close}>
      <form className="dialog-form" onSubmit={submit}>
        <p className="dialog-lead">
          <strong>{row.executor}</strong> lifts the block of <span className="mono">{row.cidr}</span> now, before its TTL runs out. Traffic from it passes again.
        </p>
        <dl className="dialog-facts">
          <div>
            <dt>Time left</dt>
            <dd>
              <RemainingTime expiresAt={row.expiresAt} />
            </dd>
          </div>
          <div>
            <dt>Incident</dt>
            <dd className="mono">{row.incidentId ?? '—'}</dd>
          </div>
          <div>
            <dt>Why it was blocked</dt>
            <dd>{row.reason || '—'}</dd>
          </div>
        </dl>
        <ReasonField value={reason} onChange={setReason} purpose={`Sent to ${row.executor} and kept in the audit log.`} />
        <CallErrorAlert error={activity.error} />
        <div className="dialog-actions">
          <button type="button" className="btn" onClick={close}>
            Cancel
          </button>
          <button type="submit" className="btn btn--danger" aria-disabled={activity.busy || !reasonFits(reason) || undefined}>
            Revoke
          </button>
        </div>
        {activity.busy ? (
          <p className="busy-note" role="status">
            Revoking: waiting for {row.executor}…
          </p>
        ) : null}
      </form>
    </ModalDialog>
  );
}
