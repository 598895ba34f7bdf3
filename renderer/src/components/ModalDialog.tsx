/**
 * A modal dialog on the native <dialog>: showModal() makes the rest of the page inert (focus
 * cannot leave the dialog) and moves focus to the first control inside; Escape closes it. On
 * close, focus goes back to the control that opened it, or to the main landmark when that
 * control is gone (the row it belonged to was removed meanwhile).
 */
import { useEffect, useId, useRef, type ReactNode } from 'react';

export interface ModalDialogProps {
  title: string;
  onClose: () => void;
  children: ReactNode;
  /** Wider layout for dialogs with a checklist. */
  wide?: boolean;
}

export const MAIN_CONTENT_ID = 'main-content';

export function ModalDialog({ title, onClose, children, wide = false }: ModalDialogProps) {
  const dialogRef = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const onCloseRef = useRef(onClose);
  useEffect(() => {
    onCloseRef.current = onClose;
  });

  useEffect(() => {
    const dialog = dialogRef.current;
    if (!dialog) return;
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    if (!dialog.open) dialog.showModal();
    return () => {
      if (dialog.open) dialog.close();
      const target = opener?.isConnected ? opener : document.getElementById(MAIN_CONTENT_ID);
      target?.focus();
    };
  }, []);

  return (
    <dialog
      ref={dialogRef}
      className={wide ? 'modal modal--wide' : 'modal'}
      aria-labelledby={titleId}
      onCancel={(event) => {
        // Escape: let React unmount the dialog rather than the browser closing it under React.
        event.preventDefault();
        onCloseRef.current();
      }}
    >
      <h2 id={titleId} className="modal__title">
        {title}
      </h2>
      {children}
    </dialog>
  );
}
