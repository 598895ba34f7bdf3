/**
 * A dialog's Cancel and confirm buttons, and, while its call runs, what it is waiting for. The
 * confirm button uses aria-disabled, not disabled: a focused button that becomes disabled drops
 * keyboard focus to the page, and the analyst would have to find their way back into the dialog.
 */
export function DialogActions({
  confirm,
  tone,
  disabled,
  busyNote,
  onCancel,
}: {
  /** The confirm button's text: what it does ("Reject", "Approve edited block"). */
  confirm: string;
  tone: 'approve' | 'danger';
  disabled: boolean;
  /** Shown while the call runs; null when none runs. */
  busyNote: string | null;
  onCancel: () => void;
}) {
  return (
    <>
      <div className="dialog-actions">
        <button type="button" className="btn" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className={`btn btn--${tone}`} aria-disabled={disabled || undefined}>
          {confirm}
        </button>
      </div>
      {busyNote ? (
        <p className="busy-note" role="status">
          {busyNote}
        </p>
      ) : null}
    </>
  );
}
