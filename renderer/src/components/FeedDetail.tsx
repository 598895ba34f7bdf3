/**
 * The detail pane of one anomaly: what was detected, by whom, when, against which users, and
 * the log lines that prove it, with their line numbers so the analyst can find them on the host.
 * Focus stays in the list (triage is Down, Enter, Down, Enter…); Tab reaches the pane, Escape closes it.
 */
import type { FeedEvidenceLine, FeedItemDetail } from '../../../core/console/api.ts';
import { CallErrorAlert } from './CallErrorAlert.tsx';
import { FeedTime } from './FeedTime.tsx';
import { SeverityBadge } from './SeverityBadge.tsx';
import { useFeed } from './store-hooks.ts';

export function FeedDetail() {
  const detail = useFeed((state) => state.detail);
  const closeDetail = useFeed((state) => state.closeDetail);
  if (!detail) return null;
  return (
    <section aria-label="Anomaly details" className="panel feed-detail">
      <header className="feed-detail__header">
        <h3 className="feed-detail__title">
          {detail.item ? detail.item.summary || detail.item.rule : 'Anomaly details'}
        </h3>
        <button type="button" className="btn btn--small" onClick={closeDetail} aria-label="Close details">
          Close
        </button>
      </header>
      {detail.phase === 'loading' ? (
        <p className="loading-view__text" role="status">
          <span className="spinner" aria-hidden="true" /> Loading details…
        </p>
      ) : detail.phase === 'error' ? (
        <CallErrorAlert error={detail.error} />
      ) : detail.item ? (
        <DetailBody item={detail.item} />
      ) : null}
    </section>
  );
}

function DetailBody({ item }: { item: FeedItemDetail }) {
  const hiddenUsers = item.usersTotal - item.users.length;
  return (
    <>
      <dl className="feed-detail__facts">
        <div>
          <dt>Severity</dt>
          <dd>
            <SeverityBadge severity={item.severity} />
          </dd>
        </div>
        <div>
          <dt>Rule</dt>
          <dd className="mono">{item.rule}</dd>
        </div>
        <div>
          <dt>Detector</dt>
          <dd className="mono">{item.detector || '—'}</dd>
        </div>
        <div>
          <dt>MITRE ATT&amp;CK</dt>
          <dd className="mono">{item.mitre || '—'}</dd>
        </div>
        <div>
          <dt>Source IP</dt>
          <dd className="mono">{item.sourceIp ?? '—'}</dd>
        </div>
        <div>
          <dt>Agent</dt>
          <dd>
            <span className="hostname">{item.agentHostname || '(no hostname)'}</span>
            <span className="fact__detail mono" title="agent key">
              {item.agentKey}
            </span>
          </dd>
        </div>
        <div>
          <dt>Events</dt>
          <dd className="mono">{item.count.toLocaleString('en-US')}</dd>
        </div>
        <div>
          <dt>First seen</dt>
          <dd>
            <FeedTime ms={item.firstSeen} />
          </dd>
        </div>
        <div>
          <dt>Last seen</dt>
          <dd>
            <FeedTime ms={item.lastSeen} />
          </dd>
        </div>
        <div>
          <dt>Received</dt>
          <dd>
            <FeedTime ms={item.receivedAt} />
          </dd>
        </div>
        <div className="feed-detail__wide">
          <dt>Users ({item.usersTotal.toLocaleString('en-US')})</dt>
          <dd>
            {item.users.length === 0 ? (
              '—'
            ) : (
              <ul className="chips">
                {item.users.map((user) => (
                  <li key={user} className="chip">
                    {user}
                  </li>
                ))}
                {hiddenUsers > 0 ? <li className="chip chip--more">and {hiddenUsers.toLocaleString('en-US')} more</li> : null}
              </ul>
            )}
          </dd>
        </div>
      </dl>
      <EvidenceLines evidence={item.evidence} total={item.evidenceCount} />
    </>
  );
}

function EvidenceLines({ evidence, total }: { evidence: readonly FeedEvidenceLine[]; total: number }) {
  if (evidence.length === 0) return <p className="empty">The monitor sent no evidence lines for this anomaly.</p>;
  const sources = [...new Set(evidence.map((line) => line.source ?? ''))];
  const oneSource = sources.length === 1 ? sources[0] : null;
  return (
    <section aria-label="Evidence" className="evidence">
      <h4 className="evidence__title">
        Evidence ({total.toLocaleString('en-US')} {total === 1 ? 'line' : 'lines'}){oneSource ? <span className="evidence__source mono"> from {oneSource}</span> : null}
      </h4>
      <ol className="evidence__lines">
        {evidence.map((line, i) => (
          <li key={i} className="evidence__line">
            <span className="evidence__number mono">
              <span className="visually-hidden">line </span>
              {line.line}
            </span>
            <code className="evidence__text">
              {oneSource === null && line.source ? <span className="evidence__source">{line.source}: </span> : null}
              {line.text}
            </code>
          </li>
        ))}
      </ol>
    </section>
  );
}
