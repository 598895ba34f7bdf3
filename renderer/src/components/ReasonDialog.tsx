/**
 * A decision that takes a reason for the audit log: reject a trust request or a proposed block,
 * revoke a peer or a block. The caller says what is decided (the facts above the reason) and
 * makes the call; the dialog closes when the call succeeds and shows its error when it fails.
 */
import { useState, type FormEvent, type ReactNode } from 'react';
import type { ActionState } from '../store/call-outcome.ts';
import { CallErrorAlert } from './CallErrorAlert.tsx';
import { DialogActions } from './DialogActions.tsx';
import { ModalDialog } from './ModalDialog.tsx';
import { ReasonField, reasonFits } from './ReasonField.tsx';

export interface ReasonDialogProps {
  title: string;
  /** Under the reason field: where the reason goes ("Sent to gcp-log-monitor and kept in the audit log."). */
  purpose: string;
  /** The decision is not valid without a reason. */
  reasonRequired?: boolean;
  /** The confirm button's text. */
  confirm: string;
  /** Shown while the call runs ("Revoking…"). */
  busyNote: string;
  /** The call on this target. While it runs, confirm is disabled and Cancel leaves its outcome in place. */
  activity: ActionState;
  /**
   * False when the activity is another decision's on the same target (an approval while this
   * dialog is open): it still holds the confirm button, but its error and progress are shown where it was made.
   */
  activityIsThisDialogs?: boolean;
  /** Makes the call; resolves true when the service did it. */
  decide: (reason: string) => Promise<boolean>;
  /** Forgets a failed call's error, so the dialog opens clean next time. */
  clearOutcome: () => void;
  onClose: () => void;
  /** What is decided: a lead paragraph, the facts. */
  children: ReactNode;
}

export function ReasonDialog({ title, purpose, reasonRequired = false, confirm, busyNote, activity, activityIsThisDialogs = true, decide, clearOutcome, onClose, children }: ReasonDialogProps) {
  const [reason, setReason] = useState('');
  const ready = (!reasonRequired || reason.trim() !== '') && reasonFits(reason);

  const close = () => {
    if (!activity.busy) clearOutcome();
    onClose();
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (activity.busy || !ready) return;
    if (await decide(reason.trim())) onClose();
  };

  return (
    <ModalDialog title={title} onClose={close}>
      <form className="dialog-form" onSubmit={submit}>
        {children}
        <ReasonField value={reason} onChange={setReason} purpose={purpose} required={reasonRequired} />
        {activityIsThisDialogs ? <CallErrorAlert error={activity.error} /> : null}
        <DialogActions confirm={confirm} tone="danger" disabled={activity.busy || !ready} busyNote={activity.busy && activityIsThisDialogs ? busyNote : null} onCancel={close} />
      </form>
    </ModalDialog>
  );
}
