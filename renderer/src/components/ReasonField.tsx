import { useId } from 'react';
import { MAX_REASON_BYTES, utf8Length } from '../../../core/console/api.ts';

/**
 * The "Reason" textbox of reject and revoke, with the byte budget the overlay message allows.
 * `required`: the decision is not valid without one (rejecting a proposal says why, for the audit trail).
 */
export function ReasonField({ value, onChange, purpose, required = false }: { value: string; onChange: (value: string) => void; purpose: string; required?: boolean }) {
  const id = useId();
  const bytes = utf8Length(value);
  const tooLong = bytes > MAX_REASON_BYTES;
  return (
    <div className="field">
      <label htmlFor={id}>Reason</label>
      <textarea
        id={id}
        className="input"
        rows={3}
        value={value}
        onChange={(event) => onChange(event.target.value)}
        aria-describedby={`${id}-help`}
        aria-invalid={tooLong || undefined}
        aria-required={required || undefined}
      />
      <p id={`${id}-help`} className={tooLong ? 'field__help field__help--error' : 'field__help'}>
        {purpose} {required ? 'Required' : 'Optional'}; {bytes} of {MAX_REASON_BYTES} bytes{tooLong ? ' — too long, shorten it' : ''}.
      </p>
    </div>
  );
}

export function reasonFits(reason: string): boolean {
  return utf8Length(reason) <= MAX_REASON_BYTES;
}
