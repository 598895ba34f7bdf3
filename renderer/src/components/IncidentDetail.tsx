/**
 * The detail pane of one incident: what was seen from the source, by which monitors, the log
 * lines that prove it, the anomalies it correlates, the block proposed for it (and the
 * analyst's decision), and, when an LLM is configured, its summary — marked as model-written.
 * Every string that came from a log (evidence, user names, summaries) is rendered as text.
 */
import { useEffect, useRef, type RefObject } from 'react';
import type { IncidentAnomalyRow, IncidentRow, ProposalRow } from '../../../core/console/api.ts';
import { formatTtl } from '../format/duration.ts';
import { selectIncident, selectProposal } from '../store/incidents-store.ts';
import { CallErrorAlert } from './CallErrorAlert.tsx';
import { EvidenceLines, lineCount } from './EvidenceLines.tsx';
import { Fact } from './Fact.tsx';
import { FeedTime } from './FeedTime.tsx';
import { LoadingStatus } from './LoadingStatus.tsx';
import { ProposalPanel } from './ProposalPanel.tsx';
import { ScrollTable, type TableColumn } from './ScrollTable.tsx';
import { SeverityBadge } from './SeverityBadge.tsx';
import { StatusBadge } from './StatusBadge.tsx';
import { UserChips } from './UserChips.tsx';
import { useIncidents } from './store-hooks.ts';

export function IncidentDetail() {
  const detail = useIncidents((state) => state.detail);
  const incident = useIncidents(selectIncident(detail?.incidentId ?? ''));
  const select = useIncidents((state) => state.select);
  const pane = useRef<HTMLElement>(null);
  const incidentId = detail?.incidentId ?? null;
  if (!detail) return null;
  const close = () => {
    void select(null);
    // Back to the row the pane belonged to, so the keyboard continues where it left the list.
    document.querySelector<HTMLElement>(`[data-incident-id="${CSS.escape(detail.incidentId)}"] button`)?.focus();
  };

  return (
    <section
      ref={pane}
      aria-label="Incident details"
      className="panel feed-detail incident-detail"
      onKeyDown={(event) => {
        // Escape inside a dialog closes the dialog, not the pane behind it.
        if (event.key === 'Escape' && !(event.target instanceof Element && event.target.closest('dialog'))) close();
      }}
    >
      <FocusOnOpen target={pane} incidentId={incidentId} />
      <header className="feed-detail__header">
        <h3 className="feed-detail__title" tabIndex={-1}>
          <span className="mono">{incident?.sourceKey ?? detail.incidentId}</span>
          <span className="cell-detail">{detail.incidentId}</span>
        </h3>
        <button type="button" className="btn btn--small" onClick={close} aria-label="Close details">
          Close
        </button>
      </header>
      {incident ? <IncidentFacts incident={incident} /> : null}
      {incident?.proposalId ? <ProposalPanel proposalId={incident.proposalId} /> : null}
      {incident?.proposalId ? <Enrichment proposalId={incident.proposalId} /> : null}
      {incident ? (
        <EvidenceLines
          lines={incident.evidence}
          originOf={(line) => line.agent}
          counted={`${incident.evidence.length.toLocaleString('en-US')} of ${lineCount(incident.evidenceReported)}`}
          emptyText="The monitors sent no evidence lines for this incident."
        />
      ) : null}
      {detail.phase === 'loading' ? (
        <LoadingStatus>Loading anomalies…</LoadingStatus>
      ) : detail.phase === 'error' ? (
        <CallErrorAlert error={detail.error} />
      ) : (
        <>
          <CorrelatedAnomalies anomalies={detail.anomalies} />
          <EarlierProposals proposalIds={detail.proposalIds.filter((id) => id !== incident?.proposalId)} />
        </>
      )}
    </section>
  );
}

/** Moves focus to the pane's heading when another incident opens, so keyboard and screen-reader users land on it. */
function FocusOnOpen({ target, incidentId }: { target: RefObject<HTMLElement | null>; incidentId: string | null }) {
  useEffect(() => {
    if (incidentId !== null) target.current?.querySelector<HTMLElement>('h3')?.focus();
  }, [target, incidentId]);
  return null;
}

function IncidentFacts({ incident }: { incident: IncidentRow }) {
  const hiddenSources = incident.sourcesTotal - incident.sources.length;
  const hiddenAgents = incident.agentsTotal - incident.agents.length;
  return (
    <dl className="feed-detail__facts">
      <Fact label="Severity">
        <SeverityBadge severity={incident.severity} />
      </Fact>
      <Fact label="State">
        <StatusBadge status={incident.state} />
        {incident.closedAt !== null ? (
          <span className="cell-detail">
            closed <FeedTime ms={incident.closedAt} />
          </span>
        ) : null}
      </Fact>
      <Fact label="Events" className="mono">
        {incident.count.toLocaleString('en-US')}
      </Fact>
      <Fact label="Anomalies" className="mono">
        {incident.anomalies.toLocaleString('en-US')} ({incident.openAnomalies.toLocaleString('en-US')} open)
      </Fact>
      <Fact label="First seen">
        <FeedTime ms={incident.firstSeen} />
      </Fact>
      <Fact label="Last seen">
        <FeedTime ms={incident.lastSeen} />
      </Fact>
      <Fact label={`Sources (${incident.sourcesTotal.toLocaleString('en-US')})`} className="mono" wide>
        {incident.sources.join(', ') || '—'}
        {hiddenSources > 0 ? ` and ${hiddenSources.toLocaleString('en-US')} more` : ''}
      </Fact>
      <Fact label="Rules" wide>
        <ul className="chips">
          {incident.rules.map((r) => (
            <li key={r.rule} className="chip">
              <span className="mono">{r.rule}</span> <SeverityBadge severity={r.severity} />
            </li>
          ))}
        </ul>
      </Fact>
      <Fact label="Agents">
        {incident.agents.join(', ') || '—'}
        {hiddenAgents > 0 ? ` and ${hiddenAgents} more` : ''}
      </Fact>
      <Fact label="MITRE ATT&CK" className="mono">
        {incident.mitre.join(', ') || '—'}
      </Fact>
      <Fact label={`Users tried (${incident.usersTotal.toLocaleString('en-US')})`} wide>
        <UserChips users={incident.users} total={incident.usersTotal} />
      </Fact>
      {!incident.blockable ? (
        <Fact label="Block" className="muted" wide>
          The source is known by host name only: no address to block, so nothing is proposed.
        </Fact>
      ) : null}
    </dl>
  );
}

/**
 * The LLM's summary and rationale, when enrichment is configured. Display only: nothing in the
 * console reads a CIDR, TTL or decision out of it, and the pane says so, because it was written
 * from attacker-influenced text.
 */
function Enrichment({ proposalId }: { proposalId: string }) {
  const proposal = useIncidents(selectProposal(proposalId));
  if (!proposal || proposal.enrichment.status === 'off') return null;
  const { enrichment } = proposal;
  return (
    <section aria-label="Model-written analysis" className="enrichment">
      <h4 className="evidence__title">
        Model-written analysis{enrichment.model ? <span className="evidence__source mono"> · {enrichment.model}</span> : null}
      </h4>
      <p className="enrichment__notice">
        Written by a language model from log text an attacker can influence. For reading only: it cannot approve, change or reject anything; check it
        against the evidence.
      </p>
      {enrichment.status === 'pending' ? (
        <p className="muted" role="status">
          The model is writing its summary…
        </p>
      ) : enrichment.status === 'failed' ? (
        <p className="muted">The model gave no summary: {enrichment.error ?? 'unknown error'}. The proposal stands without it.</p>
      ) : (
        <>
          {enrichment.summary ? (
            <div className="enrichment__text">
              <span className="enrichment__label">Summary</span>
              <p>{enrichment.summary}</p>
            </div>
          ) : null}
          {enrichment.rationale ? (
            <div className="enrichment__text">
              <span className="enrichment__label">Rationale</span>
              <p>{enrichment.rationale}</p>
            </div>
          ) : null}
          {enrichment.at !== null ? (
            <p className="cell-detail">
              written <FeedTime ms={enrichment.at} />
            </p>
          ) : null}
        </>
      )}
    </section>
  );
}

const ANOMALY_COLUMNS: readonly (string | TableColumn)[] = ['Rule', 'Severity', 'Agent', { label: 'Events', className: 'numeric' }, 'Last seen', 'State'];

function CorrelatedAnomalies({ anomalies }: { anomalies: readonly IncidentAnomalyRow[] }) {
  if (anomalies.length === 0) return <p className="empty">No anomalies are stored for this incident.</p>;
  return (
    <section aria-label="Correlated anomalies" className="incident-anomalies">
      <h4 className="evidence__title">Correlated anomalies ({anomalies.length.toLocaleString('en-US')})</h4>
      <ScrollTable label="Correlated anomalies" className="peer-table" columns={ANOMALY_COLUMNS}>
        {anomalies.map((anomaly) => (
          <tr key={`${anomaly.agent}/${anomaly.anomalyId}`}>
            <th scope="row">
              <span className="mono">{anomaly.rule}</span>
              <span className="cell-detail incident-anomalies__summary">{anomaly.summary}</span>
            </th>
            <td>
              <SeverityBadge severity={anomaly.severity} />
            </td>
            <td>
              {anomaly.agent}
              <span className="cell-detail mono">{anomaly.sourceIp}</span>
            </td>
            <td className="numeric mono">{anomaly.count.toLocaleString('en-US')}</td>
            <td>
              <FeedTime ms={anomaly.lastSeen} />
            </td>
            <td>
              <StatusBadge status={anomaly.state} />
            </td>
          </tr>
        ))}
      </ScrollTable>
    </section>
  );
}

function EarlierProposals({ proposalIds }: { proposalIds: readonly string[] }) {
  if (proposalIds.length === 0) return null;
  return (
    <section aria-label="Earlier proposals" className="earlier-proposals">
      <h4 className="evidence__title">Earlier proposals</h4>
      <ul className="earlier-proposals__list">
        {proposalIds.map((id) => (
          <EarlierProposal key={id} proposalId={id} />
        ))}
      </ul>
    </section>
  );
}

function EarlierProposal({ proposalId }: { proposalId: string }) {
  const proposal: ProposalRow | undefined = useIncidents(selectProposal(proposalId));
  if (!proposal) return null;
  return (
    <li>
      <StatusBadge status={proposal.status} /> <span className="mono">{proposal.approved?.cidr ?? proposal.cidr}</span> for {formatTtl(proposal.approved?.ttlSeconds ?? proposal.ttlSeconds)}
      {proposal.decision?.reason ? <span className="cell-detail">“{proposal.decision.reason}”</span> : null}
      <span className="cell-detail">
        proposed <FeedTime ms={proposal.createdAt} />
      </span>
    </li>
  );
}
