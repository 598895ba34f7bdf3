/**
 * The approve and reject dialogs of a pending trust request. Confirm buttons use aria-disabled,
 * not disabled, while a call runs: a focused button that becomes disabled drops keyboard focus
 * to the page, and the analyst would have to find their way back into the dialog.
 */
import { useId, useState, type FormEvent } from 'react';
import { CAPABILITY_LABELS, CONSOLE_CAPABILITIES, type ConsoleCapability, type PendingRequestView } from '../../../core/console/api.ts';
import { selectDecisionActivity } from '../store/handshakes-store.ts';
import { CallErrorAlert } from './CallErrorAlert.tsx';
import { ModalDialog } from './ModalDialog.tsx';
import { ReasonField, reasonFits } from './ReasonField.tsx';
import { useHandshakes } from './store-hooks.ts';

interface DecisionDialogProps {
  request: PendingRequestView;
  onClose: () => void;
}

function RequesterSummary({ request }: { request: PendingRequestView }) {
  return (
    <dl className="dialog-facts">
      <div>
        <dt>Address</dt>
        <dd className="mono">{request.address}</dd>
      </div>
      <div>
        <dt>Fingerprint</dt>
        <dd className="mono fingerprint">{request.fingerprint}</dd>
      </div>
      <div>
        <dt>Justification</dt>
        <dd>{request.justification.trim() || <span className="muted">none given</span>}</dd>
      </div>
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
        <div className="dialog-actions">
          <button type="button" className="btn" onClick={close}>
            Cancel
          </button>
          <button type="submit" className="btn btn--approve" aria-disabled={activity.busy || undefined}>
            Approve
          </button>
        </div>
        {activity.busy ? (
          <p className="busy-note" role="status">
            Approving…
          </p>
        ) : null}
      </form>
    </ModalDialog>
  );
}

export function RejectDialog({ request, onClose }: DecisionDialogProps) {
  const reject = useHandshakes((state) => state.reject);
  const clearOutcome = useHandshakes((state) => state.clearDecisionOutcome);
  const activity = useHandshakes(selectDecisionActivity(request.id));
  const [reason, setReason] = useState('');

  const close = () => {
    if (!activity.busy) clearOutcome(request.id);
    onClose();
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (activity.busy || !reasonFits(reason)) return;
    if (await reject(request, reason.trim())) onClose();
  };

  return (
    <ModalDialog title={`Reject ${request.hostname}`} onClose={close}>
      <form className="dialog-form" onSubmit={submit}>
        <RequesterSummary request={request} />
        <ReasonField value={reason} onChange={setReason} purpose={`Sent to ${request.hostname} and kept in the audit log.`} />
        <CallErrorAlert error={activity.error} />
        <div className="dialog-actions">
          <button type="button" className="btn" onClick={close}>
            Cancel
          </button>
          <button type="submit" className="btn btn--danger" aria-disabled={activity.busy || !reasonFits(reason) || undefined}>
            Reject
          </button>
        </div>
        {activity.busy ? (
          <p className="busy-note" role="status">
            Rejecting…
          </p>
        ) : null}
      </form>
    </ModalDialog>
  );
}
