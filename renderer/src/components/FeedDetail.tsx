/**
 * The detail pane of one anomaly: what was detected, by whom, when, against which users, and
 * the log lines that prove it, with their line numbers so the analyst can find them on the host.
 * Focus stays in the list (triage is Down, Enter, Down, Enter…); Tab reaches the pane, Escape closes it.
 */
import type { FeedItemDetail } from '../../../core/console/api.ts';
import { CallErrorAlert } from './CallErrorAlert.tsx';
import { EvidenceLines, lineCount } from './EvidenceLines.tsx';
import { Fact } from './Fact.tsx';
import { FeedTime } from './FeedTime.tsx';
import { LoadingStatus } from './LoadingStatus.tsx';
import { SeverityBadge } from './SeverityBadge.tsx';
import { UserChips } from './UserChips.tsx';
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
        <LoadingStatus>Loading details…</LoadingStatus>
      ) : detail.phase === 'error' ? (
        <CallErrorAlert error={detail.error} />
      ) : detail.item ? (
        <DetailBody item={detail.item} />
      ) : null}
    </section>
  );
}

function DetailBody({ item }: { item: FeedItemDetail }) {
  return (
    <>
      <dl className="feed-detail__facts">
        <Fact label="Severity">
          <SeverityBadge severity={item.severity} />
        </Fact>
        <Fact label="Rule" className="mono">
          {item.rule}
        </Fact>
        <Fact label="Detector" className="mono">
          {item.detector || '—'}
        </Fact>
        <Fact label="MITRE ATT&CK" className="mono">
          {item.mitre || '—'}
        </Fact>
        <Fact label="Source IP" className="mono">
          {item.sourceIp ?? '—'}
        </Fact>
        <Fact label="Agent">
          <span className="hostname">{item.agentHostname || '(no hostname)'}</span>
          <span className="fact__detail mono" title="agent key">
            {item.agentKey}
          </span>
        </Fact>
        <Fact label="Events" className="mono">
          {item.count.toLocaleString('en-US')}
        </Fact>
        <Fact label="First seen">
          <FeedTime ms={item.firstSeen} />
        </Fact>
        <Fact label="Last seen">
          <FeedTime ms={item.lastSeen} />
        </Fact>
        <Fact label="Received">
          <FeedTime ms={item.receivedAt} />
        </Fact>
        <Fact label={`Users (${item.usersTotal.toLocaleString('en-US')})`} wide>
          <UserChips users={item.users} total={item.usersTotal} />
        </Fact>
      </dl>
      <EvidenceLines lines={item.evidence} originOf={(line) => line.source} counted={lineCount(item.evidenceCount)} emptyText="The monitor sent no evidence lines for this anomaly." />
    </>
  );
}
