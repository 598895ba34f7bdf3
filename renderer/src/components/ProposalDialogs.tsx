/**
 * Deciding a proposal in a dialog: Edit (change the CIDR, the TTL or the executors, then approve)
 * and Reject (a reason is required: it goes into the audit trail). Confirm buttons use
 * aria-disabled while a call runs or the form is incomplete, as the handshake dialogs do.
 */
import { useEffect, useId, useState, type FormEvent } from 'react';
import { MITIGATION_TTL_RANGE, type ProposalRow } from '../../../core/console/api.ts';
import { formatTtl, joinTtl, splitTtl, TTL_UNITS, type TtlUnit } from '../format/duration.ts';
import { selectDecisionActivity, type ProposalEdits } from '../store/incidents-store.ts';
import { CallErrorAlert } from './CallErrorAlert.tsx';
import { DialogActions } from './DialogActions.tsx';
import { Fact } from './Fact.tsx';
import { ModalDialog } from './ModalDialog.tsx';
import { ReasonDialog } from './ReasonDialog.tsx';
import { useIncidents } from './store-hooks.ts';

interface ProposalDialogProps {
  proposal: ProposalRow;
  onClose: () => void;
}

function ProposalSummary({ proposal }: { proposal: ProposalRow }) {
  return (
    <dl className="dialog-facts">
      <Fact label="Incident" className="mono">
        {proposal.incidentId}
      </Fact>
      <Fact label="Proposed">
        <span className="mono">{proposal.cidr}</span> for {formatTtl(proposal.ttlSeconds)}
      </Fact>
      <Fact label="Why">{proposal.reason}</Fact>
    </dl>
  );
}

/** Whether a CIDR is worth sending: the service checks it properly (host bits, ranges, policy). */
function cidrProblem(text: string): string | null {
  const value = text.trim();
  if (value === '') return 'Enter the address or range to block, e.g. 198.51.100.23/32.';
  if (value.length > 64 || /\s/.test(value)) return 'One address or CIDR range, e.g. 198.51.100.0/24.';
  return null;
}

function ttlProblem(seconds: number | null): string | null {
  if (seconds === null) return 'Enter a whole number.';
  if (seconds < MITIGATION_TTL_RANGE.min || seconds > MITIGATION_TTL_RANGE.max) {
    return `A block lasts from ${formatTtl(MITIGATION_TTL_RANGE.min)} to ${formatTtl(MITIGATION_TTL_RANGE.max)}.`;
  }
  return null;
}

function sameTargets(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((target) => b.includes(target));
}

export function EditProposalDialog({ proposal, onClose }: ProposalDialogProps) {
  const approve = useIncidents((state) => state.approve);
  const refresh = useIncidents((state) => state.refresh);
  const clearOutcome = useIncidents((state) => state.clearDecisionOutcome);
  const activity = useIncidents(selectDecisionActivity(proposal.id));
  const executors = useIncidents((state) => state.executors);
  const initialTtl = splitTtl(proposal.ttlSeconds);
  const [cidr, setCidr] = useState(proposal.cidr);
  const [amount, setAmount] = useState(String(initialTtl.amount));
  const [unit, setUnit] = useState<TtlUnit>(initialTtl.unit);
  const [targets, setTargets] = useState<readonly string[]>(proposal.targets);
  const [submitted, setSubmitted] = useState(false);
  const id = useId();

  // Executors trusted since the list was read are offered too.
  useEffect(() => {
    void refresh();
  }, [refresh]);

  // Executors the console can send to now, plus any proposed one that is no longer trusted (shown, so the analyst sees it go).
  const choices = [...executors, ...proposal.targets.filter((target) => !executors.includes(target))];
  const ttlSeconds = joinTtl(amount, unit);
  const problems = { cidr: cidrProblem(cidr), ttl: ttlProblem(ttlSeconds), targets: targets.length === 0 ? 'Choose at least one executor.' : null };
  const valid = problems.cidr === null && problems.ttl === null && problems.targets === null;
  const editing = activity.kind === 'edit';

  const close = () => {
    if (!activity.busy) clearOutcome(proposal.id);
    onClose();
  };

  const toggle = (target: string, checked: boolean) => {
    setTargets(checked ? [...targets, target].sort((a, b) => choices.indexOf(a) - choices.indexOf(b)) : targets.filter((t) => t !== target));
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSubmitted(true);
    if (activity.busy || !valid || ttlSeconds === null) return;
    // Only what changed is sent: the audit trail then says what the analyst edited.
    const edits: ProposalEdits = {};
    if (cidr.trim() !== proposal.cidr) edits.cidr = cidr.trim();
    if (ttlSeconds !== proposal.ttlSeconds) edits.ttlSeconds = ttlSeconds;
    if (!sameTargets(targets, proposal.targets)) edits.targets = targets;
    if (await approve(proposal.id, edits)) onClose();
  };

  const show = (problem: string | null) => (submitted ? problem : null);

  return (
    <ModalDialog title={`Edit block of ${proposal.cidr}`} onClose={close} wide>
      <form className="dialog-form" onSubmit={submit} noValidate>
        <ProposalSummary proposal={proposal} />
        <div className="field">
          <label htmlFor={`${id}-cidr`}>Block (address or CIDR)</label>
          <input
            id={`${id}-cidr`}
            className="input mono"
            value={cidr}
            onChange={(event) => setCidr(event.target.value)}
            autoComplete="off"
            spellCheck={false}
            aria-invalid={show(problems.cidr) ? true : undefined}
            aria-describedby={`${id}-cidr-help`}
          />
          <p id={`${id}-cidr-help`} className={show(problems.cidr) ? 'field__help field__help--error' : 'field__help'}>
            {show(problems.cidr) ?? 'A wider range blocks more hosts behind the same provider; the executor refuses private and protected ranges.'}
          </p>
        </div>
        <div className="field">
          <span id={`${id}-ttl-label`} className="field__label">
            Block for
          </span>
          <div className="ttl-field" role="group" aria-labelledby={`${id}-ttl-label`}>
            <input
              id={`${id}-ttl`}
              className="input input--compact ttl-field__amount"
              type="number"
              inputMode="numeric"
              min={1}
              step={1}
              value={amount}
              onChange={(event) => setAmount(event.target.value)}
              aria-label="Block for"
              aria-invalid={show(problems.ttl) ? true : undefined}
              aria-describedby={`${id}-ttl-help`}
            />
            <select id={`${id}-unit`} className="input input--compact" value={unit} onChange={(event) => setUnit(event.target.value as TtlUnit)} aria-label="Unit">
              {TTL_UNITS.map((u) => (
                <option key={u.unit} value={u.unit}>
                  {u.unit}
                </option>
              ))}
            </select>
          </div>
          <p id={`${id}-ttl-help`} className={show(problems.ttl) ? 'field__help field__help--error' : 'field__help'}>
            {show(problems.ttl) ?? `Proposed: ${formatTtl(proposal.ttlSeconds)}. The block lifts itself when it expires.`}
          </p>
        </div>
        <fieldset className="capability-fieldset" aria-describedby={`${id}-targets-help`}>
          <legend>Executors</legend>
          {choices.length === 0 ? <p className="field__help">No executor has granted this console mitigation.request yet: approve one on the Console view first.</p> : null}
          {choices.map((target) => {
            const boxId = `${id}-target-${target}`;
            return (
              <div className="checkbox-row" key={target}>
                <input id={boxId} type="checkbox" checked={targets.includes(target)} onChange={(event) => toggle(target, event.target.checked)} />
                <label htmlFor={boxId}>{target}</label>
                <span className="checkbox-row__description">
                  {executors.includes(target) ? null : <span className="tag">no longer trusted</span>}
                  {proposal.targets.includes(target) ? <span className="tag">proposed</span> : null}
                </span>
              </div>
            );
          })}
          <p id={`${id}-targets-help`} className={show(problems.targets) ? 'field__help field__help--error' : 'field__help'}>
            {show(problems.targets) ?? 'Each executor checks the order against its own policy before it applies it.'}
          </p>
        </fieldset>
        {editing ? <CallErrorAlert error={activity.error} /> : null}
        <DialogActions
          confirm="Approve edited block"
          tone="approve"
          disabled={activity.busy || (submitted && !valid)}
          busyNote={activity.busy && editing ? 'Approving: sending the signed block and waiting for the executors…' : null}
          onCancel={close}
        />
      </form>
    </ModalDialog>
  );
}

export function RejectProposalDialog({ proposal, onClose }: ProposalDialogProps) {
  const reject = useIncidents((state) => state.reject);
  const clearOutcome = useIncidents((state) => state.clearDecisionOutcome);
  const activity = useIncidents(selectDecisionActivity(proposal.id));
  return (
    <ReasonDialog
      title={`Reject block of ${proposal.cidr}`}
      purpose="Kept in the audit log with your decision."
      reasonRequired
      confirm="Reject"
      busyNote="Rejecting…"
      activity={activity}
      activityIsThisDialogs={activity.kind === 'reject'}
      decide={(reason) => reject(proposal.id, reason)}
      clearOutcome={() => clearOutcome(proposal.id)}
      onClose={onClose}
    >
      <p className="dialog-lead">Nothing is blocked. The console proposes again only if this incident gets worse.</p>
      <ProposalSummary proposal={proposal} />
    </ReasonDialog>
  );
}
