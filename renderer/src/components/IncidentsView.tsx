/**
 * Incidents: what the orchestrator correlated from the monitors' anomalies, newest activity
 * first, each with the block it proposes. Opening one shows its evidence, anomalies and the
 * proposal the analyst decides on. Opening the view loads the list; from then on it is live.
 */
import { memo, useCallback, useEffect } from 'react';
import type { IncidentRow, ProposalRow } from '../../../core/console/api.ts';
import { formatTtl } from '../format/duration.ts';
import { offenceText, selectIncident, selectPendingProposalCount, selectProposal } from '../store/incidents-store.ts';
import { CallErrorAlert } from './CallErrorAlert.tsx';
import { FeedTime } from './FeedTime.tsx';
import { IncidentDetail } from './IncidentDetail.tsx';
import { LoadFailure } from './LoadFailure.tsx';
import { LoadingStatus } from './LoadingStatus.tsx';
import { ScrollTable, type TableColumn } from './ScrollTable.tsx';
import { SeverityBadge } from './SeverityBadge.tsx';
import { StatusBadge } from './StatusBadge.tsx';
import { useIncidents } from './store-hooks.ts';

export function IncidentsView() {
  const activate = useIncidents((state) => state.activate);
  const detailOpen = useIncidents((state) => state.detail !== null);
  useEffect(() => activate(), [activate]);

  return (
    <>
      <h1 className="visually-hidden">Incidents</h1>
      <section aria-label="Incidents" className="panel incidents">
        <IncidentsHeader />
        <div className={detailOpen ? 'feed__body feed__body--with-detail incidents__body' : 'feed__body'}>
          <IncidentsListArea />
          <IncidentDetail />
        </div>
      </section>
    </>
  );
}

function IncidentsHeader() {
  const count = useIncidents((state) => state.orderedIds.length);
  const pending = useIncidents(selectPendingProposalCount);
  const refreshing = useIncidents((state) => state.refreshing);
  return (
    <header className="panel__header feed__header">
      <h2 className="panel__title">Incidents</h2>
      <span className="feed__counts" data-testid="incident-counts">
        {count.toLocaleString('en-US')} {count === 1 ? 'incident' : 'incidents'} · {pending.toLocaleString('en-US')} {pending === 1 ? 'proposal waits' : 'proposals wait'} for a decision
      </span>
      {refreshing ? (
        <span className="muted" role="status">
          Updating…
        </span>
      ) : null}
    </header>
  );
}

function IncidentsListArea() {
  const phase = useIncidents((state) => state.phase);
  const error = useIncidents((state) => state.error);
  const empty = useIncidents((state) => state.orderedIds.length === 0);
  const refresh = useIncidents((state) => state.refresh);

  if (phase === 'idle' || phase === 'loading') return <LoadingStatus className="feed__state">Loading incidents…</LoadingStatus>;
  if (phase === 'error') return <LoadFailure error={error} onRetry={() => void refresh()} />;
  return (
    <div className="incidents__list">
      {/* A list on screen whose re-read failed: it is still right up to the last push. */}
      <CallErrorAlert error={error} />
      {empty ? (
        <p className="empty feed__state">
          No incidents yet. When a trusted monitor reports anomalies, the console correlates them by source here and proposes blocks for the serious ones.
        </p>
      ) : (
        <IncidentsTable />
      )}
    </div>
  );
}

/** The secondary columns give way to the detail pane when it is open (it shows them). */
const INCIDENT_COLUMNS: readonly (string | TableColumn)[] = [
  'Source',
  'Severity',
  { label: 'Rules', className: 'incident-col--secondary' },
  { label: 'Agents', className: 'incident-col--secondary' },
  { label: 'Events', className: 'numeric' },
  { label: 'First seen', className: 'incident-col--secondary' },
  'Last seen',
  'State',
  'Proposal',
];

function IncidentsTable() {
  const orderedIds = useIncidents((state) => state.orderedIds);
  const selectedId = useIncidents((state) => state.selectedId);
  const select = useIncidents((state) => state.select);
  const detailOpen = useIncidents((state) => state.detail !== null);
  const open = useCallback((incidentId: string) => void select(incidentId), [select]);
  return (
    <ScrollTable label="Incidents" className={detailOpen ? 'peer-table incident-table incident-table--compact' : 'peer-table incident-table'} columns={INCIDENT_COLUMNS}>
      {orderedIds.map((id) => (
        <IncidentTableRow key={id} incidentId={id} selected={id === selectedId} onOpen={open} />
      ))}
    </ScrollTable>
  );
}

interface IncidentTableRowProps {
  incidentId: string;
  selected: boolean;
  /** Stable, so memo skips rows whose incident did not change. */
  onOpen: (incidentId: string) => void;
}

const IncidentTableRow = memo(function IncidentTableRow({ incidentId, selected, onOpen }: IncidentTableRowProps) {
  const incident = useIncidents(selectIncident(incidentId));
  const proposal = useIncidents(selectProposal(incident?.proposalId ?? null));
  if (!incident) return null;
  const hiddenAgents = incident.agentsTotal - incident.agents.length;
  return (
    <tr data-incident-id={incident.id} className={`incident-row incident-row--${incident.severity}${selected ? ' incident-row--selected' : ''}`}>
      <th scope="row">
        <button type="button" className="link-button mono" aria-current={selected || undefined} aria-describedby={`${incident.id}-summary`} onClick={() => onOpen(incident.id)}>
          {incident.sourceKey}
        </button>
        <span className="cell-detail" id={`${incident.id}-summary`}>
          {incident.id}
        </span>
      </th>
      <td>
        <SeverityBadge severity={incident.severity} />
      </td>
      <td className="incident-col--secondary">
        <ul className="chips">
          {incident.rules.map((r) => (
            <li key={r.rule} className="chip mono" title={`worst severity: ${r.severity}`}>
              {r.rule}
            </li>
          ))}
        </ul>
      </td>
      <td className="incident-col--secondary">
        {incident.agents.join(', ') || '—'}
        {hiddenAgents > 0 ? <span className="cell-detail">and {hiddenAgents} more</span> : null}
      </td>
      <td className="numeric mono">{incident.count.toLocaleString('en-US')}</td>
      <td className="incident-col--secondary">
        <FeedTime ms={incident.firstSeen} />
      </td>
      <td>
        <FeedTime ms={incident.lastSeen} />
      </td>
      <td>
        <StatusBadge status={incident.state} />
      </td>
      <td>
        <ProposalSummary incident={incident} proposal={proposal} />
      </td>
    </tr>
  );
});

/** "pending · 198.51.100.23/32 for 1 h → aws-firewall-executor · first offence" in a cell. */
function ProposalSummary({ incident, proposal }: { incident: IncidentRow; proposal: ProposalRow | undefined }) {
  if (!incident.blockable) return <span className="muted">none (source known by name only)</span>;
  const status = proposal?.status ?? incident.proposalStatus;
  if (!status) return <span className="muted">none</span>;
  if (!proposal) return <StatusBadge status={status} />;
  const cidr = proposal.approved?.cidr ?? proposal.cidr;
  const ttl = proposal.approved?.ttlSeconds ?? proposal.ttlSeconds;
  const targets = proposal.approved?.targets ?? proposal.targets;
  return (
    <div className="proposal-summary">
      <StatusBadge status={status} />
      <span className="proposal-summary__block">
        <span className="mono">{cidr}</span> for {formatTtl(ttl)}
      </span>
      <span className="cell-detail">→ {targets.length > 0 ? targets.join(', ') : 'no executor yet'}</span>
      <span className="cell-detail">{offenceText(proposal.previousBans)}</span>
    </div>
  );
}
