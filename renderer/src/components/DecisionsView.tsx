/**
 * Decisions: the blocks executors applied for this console, each counting down to its expiry
 * live (one shared clock for the page, not a timer per row), with Revoke to lift one now; and,
 * apart from them, the blocks that ended (expired, revoked, refused, failed, superseded) and
 * unblock requests. Opening the view loads it; from then on `decisions` pushes keep it current.
 */
import { memo, useEffect } from 'react';
import type { DecisionRow } from '../../../core/console/api.ts';
import { formatTtl } from '../format/duration.ts';
import { selectDecision, selectRevokeActivity } from '../store/decisions-store.ts';
import { CallErrorAlert } from './CallErrorAlert.tsx';
import { Fact } from './Fact.tsx';
import { FeedTime } from './FeedTime.tsx';
import { LoadFailure } from './LoadFailure.tsx';
import { LoadingStatus } from './LoadingStatus.tsx';
import { ReasonDialog } from './ReasonDialog.tsx';
import { RemainingTime } from './RemainingTime.tsx';
import { ScrollTable, type TableColumn } from './ScrollTable.tsx';
import { StatusBadge } from './StatusBadge.tsx';
import { useDecisions } from './store-hooks.ts';
import { useRowDialog } from './use-row-dialog.ts';

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
          <LoadingStatus className="feed__state">Loading decisions…</LoadingStatus>
        </section>
      ) : phase === 'error' ? (
        <section aria-label="Active decisions" className="panel">
          <LoadFailure error={error} onRetry={() => void refresh()} />
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

const ACTIVE_COLUMNS: readonly (string | TableColumn)[] = ['Block', 'Executor', 'State', 'Remaining', 'Requested by', 'Incident', 'Applied', { label: 'Actions', visuallyHidden: true }];
const ENDED_COLUMNS: readonly string[] = ['Block', 'Executor', 'Action', 'State', 'Detail', 'Requested by', 'Incident', 'Changed'];

function ActiveDecisions() {
  const keys = useDecisions((state) => state.activeKeys);
  const revokeDialog = useRowDialog();
  return (
    <section aria-label="Active decisions" className="panel">
      <header className="panel__header">
        <h2 className="panel__title">Active decisions ({keys.length.toLocaleString('en-US')})</h2>
      </header>
      {keys.length === 0 ? (
        <p className="empty">No block is in force. Approved blocks appear here with the time they have left, until they expire or you revoke them.</p>
      ) : (
        <ScrollTable label="Active decisions" className="peer-table decision-table" columns={ACTIVE_COLUMNS}>
          {keys.map((key) => (
            <ActiveDecisionRow key={key} decisionKey={key} onRevoke={revokeDialog.open} />
          ))}
        </ScrollTable>
      )}
      {revokeDialog.openKey ? <RevokeDecisionDialog decisionKey={revokeDialog.openKey} onClose={revokeDialog.close} /> : null}
    </section>
  );
}

interface ActiveDecisionRowProps {
  decisionKey: string;
  /** Stable (useRowDialog's open), so memo skips rows that did not change. */
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
        <ScrollTable label="Ended decisions" className="peer-table decision-table" columns={ENDED_COLUMNS}>
          {shown.map((key) => (
            <EndedDecisionRow key={key} decisionKey={key} />
          ))}
        </ScrollTable>
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
  if (!row) return null;

  return (
    <ReasonDialog
      title={`Revoke block of ${row.cidr}`}
      purpose={`Sent to ${row.executor} and kept in the audit log.`}
      confirm="Revoke"
      busyNote={`Revoking: waiting for ${row.executor}…`}
      activity={activity}
      decide={(reason) => revoke(decisionKey, reason)}
      clearOutcome={() => clearOutcome(decisionKey)}
      onClose={onClose}
    >
      <p className="dialog-lead">
        <strong>{row.executor}</strong> lifts the block of <span className="mono">{row.cidr}</span> now, before its TTL runs out. Traffic from it passes again.
      </p>
      <dl className="dialog-facts">
        <Fact label="Time left">
          <RemainingTime expiresAt={row.expiresAt} />
        </Fact>
        <Fact label="Incident" className="mono">
          {row.incidentId ?? '—'}
        </Fact>
        <Fact label="Why it was blocked">{row.reason || '—'}</Fact>
      </dl>
    </ReasonDialog>
  );
}
