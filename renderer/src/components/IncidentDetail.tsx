/**
 * The detail pane of one incident: what was seen from the source, by which monitors, the log
 * lines that prove it, the anomalies it correlates, the block proposed for it (and the
 * analyst's decision), and, when an LLM is configured, its summary — marked as model-written.
 * Every string that came from a log (evidence, user names, summaries) is rendered as text.
 */
import { useEffect, useRef, type RefObject } from 'react';
import type { IncidentAnomalyRow, IncidentEvidenceLine, IncidentRow, ProposalRow } from '../../../core/console/api.ts';
import { formatTtl } from '../format/duration.ts';
import { selectIncident, selectProposal } from '../store/incidents-store.ts';
import { CallErrorAlert } from './CallErrorAlert.tsx';
import { FeedTime } from './FeedTime.tsx';
import { ProposalPanel } from './ProposalPanel.tsx';
import { SeverityBadge } from './SeverityBadge.tsx';
import { StatusBadge } from './StatusBadge.tsx';
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
      {incident ? <EvidenceLines evidence={incident.evidence} reported={incident.evidenceReported} /> : null}
      {detail.phase === 'loading' ? (
        <p className="loading-view__text" role="status">
          <span className="spinner" aria-hidden="true" /> Loading anomalies…
        </p>
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
  const hiddenUsers = incident.usersTotal - incident.users.length;
  const hiddenSources = incident.sourcesTotal - incident.sources.length;
  const hiddenAgents = incident.agentsTotal - incident.agents.length;
  return (
    <dl className="feed-detail__facts">
      <div>
        <dt>Severity</dt>
        <dd>
          <SeverityBadge severity={incident.severity} />
        </dd>
      </div>
      <div>
        <dt>State</dt>
        <dd>
          <StatusBadge status={incident.state} />
          {incident.closedAt !== null ? (
            <span className="cell-detail">
              closed <FeedTime ms={incident.closedAt} />
            </span>
          ) : null}
        </dd>
      </div>
      <div>
        <dt>Events</dt>
        <dd className="mono">{incident.count.toLocaleString('en-US')}</dd>
      </div>
      <div>
        <dt>Anomalies</dt>
        <dd className="mono">
          {incident.anomalies.toLocaleString('en-US')} ({incident.openAnomalies.toLocaleString('en-US')} open)
        </dd>
      </div>
      <div>
        <dt>First seen</dt>
        <dd>
          <FeedTime ms={incident.firstSeen} />
        </dd>
      </div>
      <div>
        <dt>Last seen</dt>
        <dd>
          <FeedTime ms={incident.lastSeen} />
        </dd>
      </div>
      <div className="feed-detail__wide">
        <dt>Sources ({incident.sourcesTotal.toLocaleString('en-US')})</dt>
        <dd className="mono">
          {incident.sources.join(', ') || '—'}
          {hiddenSources > 0 ? ` and ${hiddenSources.toLocaleString('en-US')} more` : ''}
        </dd>
      </div>
      <div className="feed-detail__wide">
        <dt>Rules</dt>
        <dd>
          <ul className="chips">
            {incident.rules.map((r) => (
              <li key={r.rule} className="chip">
                <span className="mono">{r.rule}</span> <SeverityBadge severity={r.severity} />
              </li>
            ))}
          </ul>
        </dd>
      </div>
      <div>
        <dt>Agents</dt>
        <dd>
          {incident.agents.join(', ') || '—'}
          {hiddenAgents > 0 ? ` and ${hiddenAgents} more` : ''}
        </dd>
      </div>
      <div>
        <dt>MITRE ATT&amp;CK</dt>
        <dd className="mono">{incident.mitre.join(', ') || '—'}</dd>
      </div>
      <div className="feed-detail__wide">
        <dt>Users tried ({incident.usersTotal.toLocaleString('en-US')})</dt>
        <dd>
          {incident.users.length === 0 ? (
            '—'
          ) : (
            <ul className="chips">
              {incident.users.map((user) => (
                <li key={user} className="chip">
                  {user}
                </li>
              ))}
              {hiddenUsers > 0 ? <li className="chip chip--more">and {hiddenUsers.toLocaleString('en-US')} more</li> : null}
            </ul>
          )}
        </dd>
      </div>
      {!incident.blockable ? (
        <div className="feed-detail__wide">
          <dt>Block</dt>
          <dd className="muted">The source is known by host name only: no address to block, so nothing is proposed.</dd>
        </div>
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

function EvidenceLines({ evidence, reported }: { evidence: readonly IncidentEvidenceLine[]; reported: number }) {
  if (evidence.length === 0) return <p className="empty">The monitors sent no evidence lines for this incident.</p>;
  const agents = new Set(evidence.map((line) => line.agent));
  const oneAgent = agents.size === 1 ? evidence[0]?.agent : null;
  return (
    <section aria-label="Evidence" className="evidence">
      <h4 className="evidence__title">
        Evidence ({evidence.length.toLocaleString('en-US')} of {reported.toLocaleString('en-US')} {reported === 1 ? 'line' : 'lines'}){oneAgent ? <span className="evidence__source mono"> from {oneAgent}</span> : null}
      </h4>
      <ol className="evidence__lines">
        {evidence.map((line, i) => (
          <li key={i} className="evidence__line">
            <span className="evidence__number mono">
              <span className="visually-hidden">line </span>
              {line.line}
            </span>
            <code className="evidence__text">
              {oneAgent ? null : <span className="evidence__source">{line.agent}: </span>}
              {line.text}
            </code>
          </li>
        ))}
      </ol>
    </section>
  );
}

function CorrelatedAnomalies({ anomalies }: { anomalies: readonly IncidentAnomalyRow[] }) {
  if (anomalies.length === 0) return <p className="empty">No anomalies are stored for this incident.</p>;
  return (
    <section aria-label="Correlated anomalies" className="incident-anomalies">
      <h4 className="evidence__title">Correlated anomalies ({anomalies.length.toLocaleString('en-US')})</h4>
      <div className="table-scroll">
        <table aria-label="Correlated anomalies" className="peer-table">
          <thead>
            <tr>
              <th scope="col">Rule</th>
              <th scope="col">Severity</th>
              <th scope="col">Agent</th>
              <th scope="col" className="numeric">
                Events
              </th>
              <th scope="col">Last seen</th>
              <th scope="col">State</th>
            </tr>
          </thead>
          <tbody>
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
          </tbody>
        </table>
      </div>
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
