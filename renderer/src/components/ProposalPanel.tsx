/**
 * The block proposed for an incident and the analyst's decision on it. A pending proposal has
 * Approve (one click, as proposed), Edit (change CIDR, TTL or executors, then approve) and Reject
 * (with a reason). After approval, each executor's answer: applied (until when), refused (its
 * policy's reason) or failed, following the block through expiry or revocation.
 */
import { useState } from 'react';
import type { ProposalRow } from '../../../core/console/api.ts';
import { formatTtl } from '../format/duration.ts';
import { executorOutcomes, offenceText, selectDecisionActivity, selectProposal } from '../store/incidents-store.ts';
import { CallErrorAlert } from './CallErrorAlert.tsx';
import { Fact } from './Fact.tsx';
import { FeedTime } from './FeedTime.tsx';
import { EditProposalDialog, RejectProposalDialog } from './ProposalDialogs.tsx';
import { StatusBadge } from './StatusBadge.tsx';
import { useIncidents } from './store-hooks.ts';

export function ProposalPanel({ proposalId }: { proposalId: string }) {
  const proposal = useIncidents(selectProposal(proposalId));
  const activity = useIncidents(selectDecisionActivity(proposalId));
  const approve = useIncidents((state) => state.approve);
  const [dialog, setDialog] = useState<'edit' | 'reject' | null>(null);
  if (!proposal) return null;
  const pending = proposal.status === 'pending';
  const closeDialog = () => setDialog(null);

  return (
    <section aria-label="Proposed block" className="proposal" aria-busy={activity.busy || undefined}>
      <h4 className="evidence__title proposal__title">
        Proposed block <StatusBadge status={proposal.status} />
      </h4>
      <ProposalFacts proposal={proposal} />
      {pending ? (
        <>
          <div className="proposal__actions">
            <button
              type="button"
              className="btn btn--approve"
              aria-disabled={activity.busy || undefined}
              aria-describedby={`${proposal.id}-approve-help`}
              onClick={() => {
                if (!activity.busy) void approve(proposal.id, null);
              }}
            >
              Approve
            </button>
            <button type="button" className="btn" aria-disabled={activity.busy || undefined} onClick={() => !activity.busy && setDialog('edit')}>
              Edit
            </button>
            <button type="button" className="btn btn--danger-outline" aria-disabled={activity.busy || undefined} onClick={() => !activity.busy && setDialog('reject')}>
              Reject
            </button>
          </div>
          <p id={`${proposal.id}-approve-help`} className="field__help">
            Approve blocks <span className="mono">{proposal.cidr}</span> for {formatTtl(proposal.ttlSeconds)} on {targetsText(proposal.targets)}, as proposed.
          </p>
        </>
      ) : null}
      {activity.busy && activity.kind === 'approve' ? (
        <p className="busy-note" role="status">
          Approving: sending the signed block to {targetsText(proposal.targets)} and waiting for their answers…
        </p>
      ) : null}
      {activity.kind === 'approve' ? <CallErrorAlert error={activity.error} /> : null}
      <Decision proposal={proposal} />
      <ExecutorResults proposal={proposal} />
      {dialog === 'edit' && pending ? <EditProposalDialog proposal={proposal} onClose={closeDialog} /> : null}
      {dialog === 'reject' && pending ? <RejectProposalDialog proposal={proposal} onClose={closeDialog} /> : null}
    </section>
  );
}

function targetsText(targets: readonly string[]): string {
  return targets.length === 0 ? 'every trusted executor' : targets.join(', ');
}

function ProposalFacts({ proposal }: { proposal: ProposalRow }) {
  const approved = proposal.approved;
  return (
    <dl className="feed-detail__facts">
      <Fact label="Block" className="mono">
        {approved?.cidr ?? proposal.cidr}
        {approved && approved.cidr !== proposal.cidr ? <span className="cell-detail">proposed {proposal.cidr}</span> : null}
      </Fact>
      <Fact label={approved ? 'TTL' : 'Suggested TTL'}>
        {formatTtl(approved?.ttlSeconds ?? proposal.ttlSeconds)}
        {approved && approved.ttlSeconds !== proposal.ttlSeconds ? <span className="cell-detail">proposed {formatTtl(proposal.ttlSeconds)}</span> : null}
      </Fact>
      <Fact label="Executors">{targetsText(approved?.targets ?? proposal.targets)}</Fact>
      <Fact label="Escalation">{offenceText(proposal.previousBans)}</Fact>
      <Fact label="Why" wide>
        {proposal.reason}
        <span className="cell-detail">
          proposed <FeedTime ms={proposal.createdAt} />
        </span>
      </Fact>
    </dl>
  );
}

/** Who decided, when, and what they changed or why they said no. */
function Decision({ proposal }: { proposal: ProposalRow }) {
  const decision = proposal.decision;
  if (!decision) return null;
  const edited = decision.edited;
  const changes = edited
    ? [
        edited.cidr !== undefined ? `CIDR ${edited.cidr}` : null,
        edited.ttlSeconds !== undefined ? `TTL ${formatTtl(edited.ttlSeconds)}` : null,
        edited.targets !== undefined ? `executors ${edited.targets.join(', ')}` : null,
      ].filter((c): c is string => c !== null)
    : [];
  return (
    <p className="proposal__decision">
      {decision.kind === 'approved' ? (decision.auto ? 'Approved automatically' : 'Approved') : 'Rejected'} by <strong>{decision.by}</strong> <FeedTime ms={decision.at} />
      {decision.auto && decision.policyRule ? <span className="cell-detail">by policy rule {decision.policyRule.rule}</span> : null}
      {changes.length > 0 ? <span className="cell-detail">edited: {changes.join(', ')}</span> : null}
      {decision.reason ? <span className="cell-detail">reason: “{decision.reason}”</span> : null}
    </p>
  );
}

function ExecutorResults({ proposal }: { proposal: ProposalRow }) {
  const deliveries = useIncidents((state) => state.deliveries[proposal.id]);
  if (!proposal.approved && !deliveries && proposal.results.length === 0) return null;
  const outcomes = executorOutcomes(proposal, deliveries);
  if (outcomes.length === 0) return null;
  return (
    <div className="table-scroll proposal__results">
      <table aria-label="Executor results" className="peer-table">
        <thead>
          <tr>
            <th scope="col">Executor</th>
            <th scope="col">Result</th>
            <th scope="col">Detail</th>
          </tr>
        </thead>
        <tbody>
          {outcomes.map((outcome) => (
            <tr key={outcome.executor} data-executor={outcome.executor}>
              <th scope="row">{outcome.executor}</th>
              <td>
                <StatusBadge status={outcome.status} />
              </td>
              <td>
                {outcome.detail ?? (outcome.status === 'applied' ? null : '—')}
                {outcome.status === 'applied' && outcome.expiresAt !== null ? (
                  <span className="cell-detail">
                    until <FeedTime ms={outcome.expiresAt} />
                  </span>
                ) : null}
                {outcome.at !== null ? (
                  <span className="cell-detail">
                    reported <FeedTime ms={outcome.at} />
                  </span>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
