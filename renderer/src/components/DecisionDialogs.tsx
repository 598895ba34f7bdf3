/**
 * The approve and reject dialogs of a pending trust request. Confirm buttons use aria-disabled,
 * not disabled, while a call runs (see DialogActions).
 */
import { useId, useState, type FormEvent } from 'react';
import { CAPABILITY_LABELS, CONSOLE_CAPABILITIES, type ConsoleCapability, type PendingRequestView } from '../../../core/console/api.ts';
import { selectDecisionActivity } from '../store/handshakes-store.ts';
import { CallErrorAlert } from './CallErrorAlert.tsx';
import { DialogActions } from './DialogActions.tsx';
import { Fact } from './Fact.tsx';
import { ModalDialog } from './ModalDialog.tsx';
import { ReasonDialog } from './ReasonDialog.tsx';
import { useHandshakes } from './store-hooks.ts';

interface DecisionDialogProps {
  request: PendingRequestView;
  onClose: () => void;
}

function RequesterSummary({ request }: { request: PendingRequestView }) {
  return (
    <dl className="dialog-facts">
      <Fact label="Address" className="mono">
        {request.address}
      </Fact>
      <Fact label="Fingerprint" className="mono fingerprint">
        {request.fingerprint}
      </Fact>
      <Fact label="Justification">{request.justification.trim() || <span className="muted">none given</span>}</Fact>
    </dl>
  );
}

export function ApproveDialog({ request, onClose }: DecisionDialogProps) {
  const approve = useHandshakes((state) => state.approve);
  const clearOutcome = useHandshakes((state) => state.clearDecisionOutcome);
  const activity = useHandshakes(selectDecisionActivity(request.id));
  // Start from what the requester asked for: the analyst removes, rather than has to remember.
  const [granted, setGranted] = useState<ReadonlySet<string>>(() => new Set(request.wantCaps));
  const idPrefix = useId();

  const close = () => {
    if (!activity.busy) clearOutcome(request.id);
    onClose();
  };

  const toggle = (capability: ConsoleCapability, checked: boolean) => {
    const next = new Set(granted);
    if (checked) next.add(capability);
    else next.delete(capability);
    setGranted(next);
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (activity.busy) return;
    const capabilities = CONSOLE_CAPABILITIES.filter((capability) => granted.has(capability));
    if (await approve(request, capabilities)) onClose();
  };

  return (
    <ModalDialog title={`Approve ${request.hostname}`} onClose={close} wide>
      <form className="dialog-form" onSubmit={submit}>
        <p className="dialog-lead">
          Check the fingerprint with the operator of <strong>{request.hostname}</strong> over another channel before you approve: the registry
          vouches for reachability, not identity.
        </p>
        <RequesterSummary request={request} />
        <fieldset className="capability-fieldset">
          <legend>Grant capabilities</legend>
          {CONSOLE_CAPABILITIES.map((capability) => {
            const id = `${idPrefix}-${capability}`;
            const asked = request.wantCaps.includes(capability);
            return (
              <div className="checkbox-row" key={capability}>
                <input id={id} type="checkbox" checked={granted.has(capability)} onChange={(event) => toggle(capability, event.target.checked)} aria-describedby={`${id}-description`} />
                <label htmlFor={id} className="mono">
                  {capability}
                </label>
                <span id={`${id}-description`} className="checkbox-row__description">
                  {CAPABILITY_LABELS[capability]}
                  {asked ? <span className="tag">requested</span> : null}
                </span>
              </div>
            );
          })}
          {granted.size === 0 ? <p className="field__help">No capability checked: the peer gets basic trust (ping and echo) only.</p> : null}
        </fieldset>
        <CallErrorAlert error={activity.error} />
        <DialogActions confirm="Approve" tone="approve" disabled={activity.busy} busyNote={activity.busy ? 'Approving…' : null} onCancel={close} />
      </form>
    </ModalDialog>
  );
}

export function RejectDialog({ request, onClose }: DecisionDialogProps) {
  const reject = useHandshakes((state) => state.reject);
  const clearOutcome = useHandshakes((state) => state.clearDecisionOutcome);
  const activity = useHandshakes(selectDecisionActivity(request.id));
  return (
    <ReasonDialog
      title={`Reject ${request.hostname}`}
      purpose={`Sent to ${request.hostname} and kept in the audit log.`}
      confirm="Reject"
      busyNote="Rejecting…"
      activity={activity}
      decide={(reason) => reject(request, reason)}
      clearOutcome={() => clearOutcome(request.id)}
      onClose={onClose}
    >
      <RequesterSummary request={request} />
    </ReasonDialog>
  );
}
