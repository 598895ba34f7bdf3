/**
 * The console node's audit log: every trust and mitigation decision, newest first, with a banner
 * that says whether the hash chain verifies (each entry's hash covers the one before it, so an
 * edited or deleted entry breaks the chain at that point). Read while the view is open; an
 * `audit` push re-reads it.
 */
import { memo, useEffect } from 'react';
import { AUDIT_PAGE_MAX_LIMIT, type AuditLogView, type AuditRow } from '../../../core/console/api.ts';
import { CallErrorAlert } from './CallErrorAlert.tsx';
import { LoadFailure } from './LoadFailure.tsx';
import { LoadingStatus } from './LoadingStatus.tsx';
import { ScrollTable, type TableColumn } from './ScrollTable.tsx';
import { TimeStamp } from './TimeStamp.tsx';
import { useAudit } from './store-hooks.ts';

/** Hex digits of a hash shown in the table; the full hash is in the tooltip. */
const SHORT_HASH_LENGTH = 12;
/** Longest details text shown inline; the full JSON is in the tooltip. */
const DETAILS_SHOWN_CHARS = 400;

export function AuditView() {
  const openView = useAudit((state) => state.openView);
  const closeView = useAudit((state) => state.closeView);
  useEffect(() => {
    openView();
    return closeView;
  }, [openView, closeView]);
  const phase = useAudit((state) => state.phase);
  const error = useAudit((state) => state.error);
  const log = useAudit((state) => state.log);
  const refresh = useAudit((state) => state.refresh);

  return (
    <>
      <h1 className="visually-hidden">Audit</h1>
      <section aria-label="Audit log" className="panel audit">
        <AuditHeader />
        {phase === 'idle' || phase === 'loading' ? (
          <LoadingStatus className="feed__state">Reading the audit log and verifying its hash chain…</LoadingStatus>
        ) : phase === 'error' || !log ? (
          <LoadFailure error={error} onRetry={() => void refresh()} />
        ) : (
          <>
            <CallErrorAlert error={error} />
            <ChainBanner verify={log.verify} />
            <AuditTable entries={log.entries} />
            <AuditFooter shown={log.entries.length} total={log.total} />
          </>
        )}
      </section>
    </>
  );
}

function AuditHeader() {
  const node = useAudit((state) => state.log?.node ?? null);
  const refreshing = useAudit((state) => state.refreshing);
  const refresh = useAudit((state) => state.refresh);
  return (
    <header className="panel__header feed__header">
      <h2 className="panel__title">Audit log</h2>
      <span className="feed__counts">
        {node ? (
          <>
            of <span className="hostname">{node.hostname}</span> <span className="mono fingerprint">{node.fingerprint}</span>
          </>
        ) : null}
      </span>
      {refreshing ? <span className="muted">Updating…</span> : null}
      <button type="button" className="btn btn--small" onClick={() => void refresh()}>
        Refresh
      </button>
    </header>
  );
}

/** The verdict on the whole chain, in words: an analyst must never have to infer it from colour. */
function ChainBanner({ verify }: { verify: AuditLogView['verify'] }) {
  if (verify.ok) {
    return (
      <p className="banner banner--good audit__verdict" role="status" data-testid="audit-verdict">
        <span aria-hidden="true">✓ </span>hash chain verifies ({verify.entries.toLocaleString('en-US')} {verify.entries === 1 ? 'entry' : 'entries'})
      </p>
    );
  }
  return (
    <div className="banner banner--error audit__verdict" role="alert" data-testid="audit-verdict">
      <p className="banner__text">
        BROKEN at entry {verify.brokenAt ?? '?'}: {verify.problem ?? 'the chain does not verify'}
      </p>
      <p className="banner__detail">
        An entry was changed, removed or inserted outside the console. Entries from {verify.brokenAt ?? 'that one'} on cannot be trusted; keep a copy of
        swarm.db for investigation before anything else writes to it.
      </p>
    </div>
  );
}

const AUDIT_COLUMNS: readonly (string | TableColumn)[] = [{ label: '#', className: 'numeric' }, 'When', 'Actor', 'Action', 'Subject', 'Details', 'Hash'];

function AuditTable({ entries }: { entries: readonly AuditRow[] }) {
  if (entries.length === 0) return <p className="empty">The audit log is empty. Trust and mitigation decisions are recorded here.</p>;
  return (
    <ScrollTable label="Audit entries" className="peer-table audit-table" columns={AUDIT_COLUMNS}>
      {entries.map((entry) => (
        <AuditTableRow key={entry.seq} entry={entry} />
      ))}
    </ScrollTable>
  );
}

/** Compact JSON of an entry's details; the entry is data from the log, shown as text only. */
export function compactDetails(details: Record<string, unknown>): string {
  try {
    return JSON.stringify(details) ?? '{}';
  } catch {
    return '(details cannot be shown)';
  }
}

const AuditTableRow = memo(function AuditTableRow({ entry }: { entry: AuditRow }) {
  const details = compactDetails(entry.details);
  const clipped = details.length > DETAILS_SHOWN_CHARS ? `${details.slice(0, DETAILS_SHOWN_CHARS)}…` : details;
  return (
    <tr data-audit-seq={entry.seq}>
      <td className="numeric mono">{entry.seq}</td>
      <td>
        <TimeStamp iso={entry.at} />
      </td>
      <td>{entry.actor}</td>
      <th scope="row" className="mono">
        {entry.action}
      </th>
      <td className="mono audit-table__subject">{entry.subject || '—'}</td>
      <td>
        <code className="audit-table__details" title={clipped === details ? undefined : details}>
          {clipped}
        </code>
      </td>
      <td>
        <span className="mono" title={entry.hash}>
          {entry.hash.slice(0, SHORT_HASH_LENGTH)}
        </span>
      </td>
    </tr>
  );
});

function AuditFooter({ shown, total }: { shown: number; total: number }) {
  const limit = useAudit((state) => state.limit);
  const showMore = useAudit((state) => state.showMore);
  const more = shown < total && limit < AUDIT_PAGE_MAX_LIMIT;
  return (
    <p className="feed-list__footer audit__footer">
      <span>
        {shown.toLocaleString('en-US')} of {total.toLocaleString('en-US')} entries, newest first
      </span>
      {more ? (
        <button type="button" className="btn btn--small" onClick={() => void showMore()}>
          Show older entries
        </button>
      ) : null}
    </p>
  );
}
